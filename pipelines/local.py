"""Run a pipeline on this machine with kfp's local SubprocessRunner, no cluster needed."""

from __future__ import annotations

import dataclasses
import datetime as dt
import inspect
import os
import typing
import warnings
from pathlib import Path

from nlpfactory.config import parse_value
from nlpfactory.errors import InputError
from nlpfactory.pipelines import registry


@dataclasses.dataclass
class LocalRun:
    pipeline: str
    root: Path
    registered_model: str = ""  # models:/NAME@ALIAS when the pipeline ends by registering one

    def task_outputs(self) -> list[Path]:
        """The output artifacts, laid out by kfp as ROOT/<pipeline run>/<task>/<output>."""
        return sorted(p for p in self.root.glob("*/*/*"))

    def reports(self) -> list[Path]:
        """The Markdown reports the tasks wrote (evaluation, comparison), in task order."""
        return sorted((p for p in self.task_outputs() if p.is_file() and "report" in p.name),
                      key=lambda p: p.stat().st_mtime)


def parameters(pipeline_fn) -> dict[str, tuple[typing.Any, typing.Any]]:
    """name -> (type, default) of a pipeline's inputs, read from its Python signature."""
    func = getattr(pipeline_fn, "pipeline_func", pipeline_fn)
    hints = typing.get_type_hints(func)
    return {name: (hints.get(name, str), p.default) for name, p in inspect.signature(func).parameters.items()}


def parse_params(pipeline: str, pairs: list[str]) -> dict[str, typing.Any]:
    """`name=value` strings -> typed arguments; unknown names are refused with the valid list."""
    known = parameters(registry.get(pipeline))
    out = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep:
            raise InputError(f"--param {pair!r} is not name=value", fix="write it as --param epochs=2")
        if name not in known:
            raise InputError(f"pipeline {pipeline!r} has no parameter {name!r}",
                             fix=f"valid parameters: {', '.join(known)}")
        try:
            out[name] = parse_value(text, known[name][0])
        except ValueError as err:
            raise InputError(f"--param {name}: {err}", fix=f"give a {getattr(known[name][0], '__name__', known[name][0])}") from None
    return out


def run_local(pipeline: str, arguments: dict, output_root: str | Path = "local_outputs") -> LocalRun:
    """Run the named pipeline in this Python environment; outputs land under `output_root`."""
    return run_pipeline(pipeline, registry.get(pipeline), arguments, output_root)


def run_pipeline(name: str, pipeline_fn, arguments: dict, output_root: str | Path = "local_outputs") -> LocalRun:
    """Run a pipeline function (a shipped one, or one the studio built) with the local runner."""
    from kfp import local

    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    root = Path(output_root).resolve() / f"{name}-{stamp}"
    root.mkdir(parents=True, exist_ok=True)
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root), raise_on_error=True)
    # This environment *is* the image's environment (same package), so kfp's warning that the
    # base image is not a plain Python image does not apply here.
    warnings.filterwarnings("ignore", message=".*non-Python base image.*", category=RuntimeWarning)
    # Display names are for the Kubeflow UI; locally the task names already say which is which.
    warnings.filterwarnings("ignore", message=".*'display_name'.*have no effect.*", category=UserWarning)
    # The tasks are subprocesses: make sure they track to the same MLflow store as we do.
    from nlpfactory.tracking import tracking_uri

    os.environ["MLFLOW_TRACKING_URI"] = _absolute_uri(tracking_uri())
    task = pipeline_fn(**arguments)
    output = getattr(task, "output", None) if task is not None and len(task.outputs) == 1 else None
    return LocalRun(name, root, output if isinstance(output, str) else "")


def _absolute_uri(uri: str) -> str:
    """sqlite:///relative.db -> sqlite:////abs/relative.db, so every task writes the same file."""
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri.startswith(prefix + "/"):
        return prefix + str(Path(uri[len(prefix):]).resolve())
    return uri
