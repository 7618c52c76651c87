"""The palette: every component spec, loaded with kfp's own loader, as what a form needs.

Parameters, types, defaults and help are read from the specs each time, never listed here,
so a component that gains or loses a parameter shows up as it is.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import tempfile
from pathlib import Path
from typing import Any

from kfp.components import load_component_from_file

from nlpfactory.errors import InputError

SPECS_DIR = Path(__file__).resolve().parents[2] / "component_specs"

# The palette's sections, in the order of a recipe.
STAGES = ["data", "augmentation", "training", "distillation", "few-shot", "evaluation", "export"]
STAGE_OF = {
    "prepare-data": "data",
    "augment-data": "augmentation",
    "pretrain": "training",
    "backbone": "training",
    "finetune": "training",
    "soft-label": "distillation",
    "meta-teacher": "distillation",
    "distill": "distillation",
    "fewshot": "few-shot",
    "evaluate": "evaluation",
    "predict": "evaluation",
    "compare": "evaluation",
    "domain-table": "evaluation",
    "export": "export",
}
OTHER_STAGE = "other"

# A help sentence that ends "...: a, b or c." (asides allowed) lists the values a parameter takes.
WORD = r"[\w-]+(?:\s*\([^)]*\))?"  # a value, with an optional aside: "vanilla (Hinton KD)"
CHOICES_AT_END = re.compile(rf":\s*({WORD}(?:,\s*{WORD})*,?\s+or\s+{WORD})\s*(?:\.|$)")


@dataclasses.dataclass
class Parameter:
    name: str
    type: str  # KFP's parameter type: STRING, NUMBER_INTEGER, NUMBER_DOUBLE, BOOLEAN, LIST, STRUCT
    default: Any
    required: bool
    help: str
    choices: list[str] | None = None


@dataclasses.dataclass
class Port:
    name: str
    type: str  # an artifact schema (system.Dataset, system.Model, ...) or a parameter type
    help: str = ""
    optional: bool = False


@dataclasses.dataclass
class Component:
    name: str
    stage: str
    description: str
    inputs: list[Port]
    outputs: list[Port]
    parameters: list[Parameter]
    spec_file: str

    def parameter(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)

    def input(self, name: str) -> Port | None:
        return next((p for p in self.inputs if p.name == name), None)

    def output(self, name: str) -> Port | None:
        return next((p for p in self.outputs if p.name == name), None)


def palette(specs_dir: Path | None = None) -> dict[str, Component]:
    """Component name -> Component, for every spec file in `specs_dir`."""
    return dict(_palette(str(specs_dir or shipped_specs())))


@functools.lru_cache(maxsize=1)
def shipped_specs() -> Path:
    """The checked-in component_specs/, or the same specs compiled from the components."""
    return checked_in_or_compiled(SPECS_DIR, "compile_specs")


def checked_in_or_compiled(folder: Path, compile_function: str) -> Path:
    """`folder` when it holds the checked-in YAML; else (an installed package does not carry
    it) the YAML that `nlpfactory.pipelines.compile.<compile_function>` writes, compiled into
    a temporary folder. Callers cache the answer: the shipped YAML does not change meanwhile."""
    if any(folder.glob("*.yaml")):
        return folder
    from nlpfactory.pipelines import compile as compiler

    compiled = Path(tempfile.mkdtemp(prefix=f"nlpfactory-{folder.name}-"))
    getattr(compiler, compile_function)(compiled)
    return compiled


@functools.lru_cache(maxsize=4)
def _palette(specs_dir: str) -> tuple[tuple[str, Component], ...]:
    files = sorted(Path(specs_dir).glob("*.yaml"))
    if not files:
        raise InputError("no component specs found", file=specs_dir, fix="run `make specs`")
    return tuple((c.name, c) for c in (describe(f) for f in files))


def kfp_component(name: str):
    """kfp's own component object for a spec, to call inside a pipeline function."""
    return load_component_from_file(palette()[name].spec_file)


def spec_name(component_ref: str) -> str:
    """The palette name behind a compiled pipeline's component reference: kfp calls a
    component's second use in one pipeline comp-NAME-2."""
    name = component_ref.removeprefix("comp-")
    base, _, number = name.rpartition("-")
    return base if number.isdigit() and base in palette() else name


def describe(spec_file: Path) -> Component:
    """One spec as a palette entry: its ports, its parameters and their help."""
    try:
        loaded = load_component_from_file(str(spec_file))
    except Exception as err:  # noqa: BLE001 - kfp raises many kinds; all mean a broken spec
        raise InputError(f"kfp cannot load this component spec ({err})", file=str(spec_file),
                         fix="regenerate the specs with `make specs`") from None
    spec = loaded.pipeline_spec.components[f"comp-{loaded.name}"]
    defined = spec.input_definitions
    # Sorted: the spec's maps have no order, and the canvas numbers ports by position.
    inputs = [Port(name, a.artifact_type.schema_title, a.description, a.is_optional)
              for name, a in sorted(defined.artifacts.items())]
    parameters = sorted((_parameter(name, p) for name, p in defined.parameters.items()),
                        key=lambda p: (not p.required, p.name))
    outputs = [Port(name, a.artifact_type.schema_title, a.description)
               for name, a in sorted(spec.output_definitions.artifacts.items())]
    outputs += [Port(name, _type_name(p.parameter_type), p.description)
                for name, p in sorted(spec.output_definitions.parameters.items())]
    return Component(name=loaded.name, stage=STAGE_OF.get(loaded.name, OTHER_STAGE),
                     description=loaded.description or "", inputs=inputs, outputs=outputs,
                     parameters=parameters, spec_file=str(spec_file))


def _parameter(name: str, definition) -> Parameter:
    from google.protobuf import json_format

    kind = _type_name(definition.parameter_type)
    has_default = definition.HasField("default_value")
    default = json_format.MessageToDict(definition.default_value) if has_default else None
    if kind == "NUMBER_INTEGER" and isinstance(default, float) and default.is_integer():
        default = int(default)  # the spec stores every number as a double
    return Parameter(name=name, type=kind, default=default,
                     required=not (has_default or definition.is_optional),
                     help=definition.description, choices=_choices(definition.description, kind))


def _choices(help_text: str, kind: str) -> list[str] | None:
    # The stage configs write a parameter's closed set of values at the end of its help
    # ("Which split to score: test, dev or train."); an open-ended one says "e.g.".
    if kind != "STRING" or "e.g." in help_text:
        return None
    found = CHOICES_AT_END.search(help_text.strip())
    if not found:
        return None
    listed = re.sub(r"\s*\([^)]*\)", "", found.group(1))
    return [w for w in re.split(r",?\s+or\s+|,\s*", listed) if w] or None


def _type_name(value: int) -> str:
    from kfp.pipeline_spec import pipeline_spec_pb2

    return pipeline_spec_pb2.ParameterType.ParameterTypeEnum.Name(value)
