"""One dataclass per stage is the single source of that stage's options.

`option(default, "help")` declares a field with its one-line description; the CLI, the
component docstrings and the parameter tests all read the descriptions from here.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import typing
from collections.abc import Callable
from typing import Any, TypeVar

from nlpfactory.errors import ConfigError

C = TypeVar("C")


def option(default: Any, help: str, *, choices: tuple = (), least: float | None = None,
           marks: dict | None = None, **kwargs: Any) -> Any:
    """A config field with a default and a sentence a non-programmer understands. `choices`
    (the names it may take) and `least` (its smallest value) are checked by `check_options`,
    so each stage states a field's range where it declares the field. `marks` are more facts
    about the field that the library reads back (e.g. that 0 means an automatic rate)."""
    metadata = {"help": help, "choices": tuple(choices), "least": least} | (marks or {})
    if isinstance(default, (list, dict)):
        return dataclasses.field(
            default_factory=lambda d=default: json.loads(json.dumps(d)), metadata=metadata, **kwargs
        )
    return dataclasses.field(default=default, metadata=metadata, **kwargs)


def check_options(config: Any) -> None:
    """Refuse a field outside its declared `choices` or below its `least`, naming the option."""
    for f in dataclasses.fields(config):
        value, choices, least = getattr(config, f.name), f.metadata.get("choices"), f.metadata.get("least")
        if choices and value not in choices:
            raise ConfigError(f"{f.name} is {value!r}", option=f.name, fix=f"choose one of {', '.join(choices)}")
        if least is not None and value < least:
            raise ConfigError(f"{f.name} is {value}", option=f.name, fix=f"use {least} or more")


def describe(config_cls: type) -> dict[str, str]:
    """Field name -> help sentence."""
    return {f.name: f.metadata.get("help", "") for f in dataclasses.fields(config_cls)}


def defaults(config_cls: type) -> dict[str, Any]:
    """Field name -> default value (factories called)."""
    out = {}
    for f in dataclasses.fields(config_cls):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = f.default_factory()
    return out


def field_types(config_cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(config_cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(config_cls)}


def from_params(config_cls: type[C], params: dict[str, Any]) -> C:
    """Build a config from a component's locals(): keeps the config's fields, drops the rest.

    KFP hands numbers inside dict/list parameters over as floats, and ints may arrive as
    floats from a form; values are coerced back to the field's declared scalar type.
    """
    types = field_types(config_cls)
    kwargs = {}
    for name, value in params.items():
        if name not in types:
            continue
        kwargs[name] = _coerce(value, types[name])
    return config_cls(**kwargs)


def _coerce(value: Any, annotation: Any) -> Any:
    if annotation is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def to_dict(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config)


def parse_value(text: str, annotation: Any) -> Any:
    """Parse a command-line string into the field's type (bool, int, float, list, dict, str)."""
    origin = typing.get_origin(annotation) or annotation
    if origin is bool:
        low = text.strip().lower()
        if low in ("1", "true", "yes", "y", "on"):
            return True
        if low in ("0", "false", "no", "n", "off"):
            return False
        raise ValueError(f"expected true/false, got {text!r}")
    if origin is int:
        return int(text)
    if origin is float:
        return float(text)
    if origin in (list, dict):
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            if origin is list:  # "a,b,c" is the friendly way to write a list of strings
                return [part.strip() for part in text.split(",") if part.strip()]
            raise ValueError(f"expected a JSON object, got {text!r}") from None
        if not isinstance(value, origin):
            raise ValueError(f"expected a JSON {origin.__name__}, got {text!r}")
        return value
    return text


def add_arguments(parser: argparse.ArgumentParser, config_cls: type, skip: tuple[str, ...] = ()) -> None:
    """Add one --option per config field, with the field's help and default (a field without
    a default is a required option)."""
    types, given = field_types(config_cls), defaults(config_cls)
    for name in types:
        if name in skip:
            continue
        annotation = types[name]
        parser.add_argument(
            "--" + name.replace("_", "-"),
            dest=name,
            required=name not in given,
            default=given.get(name),
            type=lambda s, a=annotation: parse_value(s, a),
            help=describe(config_cls)[name] + (f" (default: {given[name]!r})" if name in given else " (required)"),
        )


def from_args(config_cls: type[C], args: argparse.Namespace) -> C:
    return config_cls(**{k: v for k, v in vars(args).items() if k in field_types(config_cls)})


def config_command(parser: argparse.ArgumentParser, config_cls: type[C],
                   run: Callable[[C, argparse.Namespace], int], skip: tuple[str, ...] = ()) -> None:
    """Add the config's options to a command (as `add_arguments`) and make `run(cfg, args)` its
    handler, `cfg` built from those options; `args` holds the command's other arguments."""
    add_arguments(parser, config_cls, skip)
    parser.set_defaults(handler=lambda args: run(from_args(config_cls, args), args))
