"""Errors a user can act on: what went wrong, where (file, line, column) and the fix."""

from __future__ import annotations

import json
from pathlib import Path


class NlpFactoryError(Exception):
    """Base class: the message is meant for the person running the tool."""


class InputError(NlpFactoryError, ValueError):
    """Bad input data or options. Names the file, the line or field, and the fix."""

    def __init__(
        self,
        problem: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: str | None = None,
        fix: str | None = None,
    ):
        self.problem, self.file, self.line, self.column, self.fix = problem, file, line, column, fix
        where = []
        if file:
            where.append(str(file))
        if line is not None:
            where.append(f"line {line}")
        if column:
            where.append(f"column {column!r}")
        msg = ": ".join([", ".join(where), problem]) if where else problem
        if fix:
            msg += f"\n  fix: {fix}"
        super().__init__(msg)


class Terminated(KeyboardInterrupt):
    """SIGTERM (`kill`), raised like Ctrl-C so that clean-ups run and no half output stays."""


class ModelNotFoundError(NlpFactoryError, FileNotFoundError):
    """A model name that is neither a preset, a local folder, nor a reachable hub id."""


class ConfigError(InputError):
    """A stage option that cannot work (out of range, unknown choice, inconsistent with another).
    Names the option and the fix; the command line prints it without a traceback."""

    def __init__(self, problem: str, *, option: str | None = None, fix: str | None = None):
        super().__init__(problem, fix=fix)
        self.column = option
        if option:
            self.args = (f"option {option!r}: {self.args[0]}",)


def read_marker_json(folder: str | Path, name: str, kind: str, fix: str) -> dict:
    """The JSON file `name` that makes `folder` a `kind` (dataset.json: a Dataset folder;
    nlpfactory.json: a Model folder), or an error saying the folder is not one."""
    path = Path(folder) / name
    if not path.is_file():
        raise InputError(f"not {kind} ({name} is missing)", file=str(folder), fix=fix)
    return json.loads(path.read_text(encoding="utf-8"))
