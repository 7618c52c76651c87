"""Run a pipeline on this machine with kfp's local SubprocessRunner, no cluster needed."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import inspect
import json
import os
import shutil
import signal
import tempfile
import threading
import time
import typing
import uuid
import warnings
from pathlib import Path

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
    """`name=value` strings -> typed arguments; unknown names are refused with the valid list.
    The same checks as `submit` (remote.coerce_arguments), against the pipeline's own spec."""
    from google.protobuf import json_format

    from nlpfactory.pipelines.remote import coerce_arguments

    arguments = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep:
            raise InputError(f"--param {pair!r} is not name=value", fix="write it as --param epochs=2")
        arguments[name] = text
    spec = json_format.MessageToDict(registry.get(pipeline).pipeline_spec)
    return coerce_arguments(arguments, spec["root"].get("inputDefinitions", {}).get("parameters", {}),
                            f"pipeline {pipeline!r}")


def run_local(pipeline: str, arguments: dict, output_root: str | Path = "local_outputs",
              runner: str = "subprocess", image: str = "") -> LocalRun:
    """Run the named pipeline on this machine; outputs land under `output_root`. The tasks
    run as subprocesses of this Python environment, or (runner="docker") in the image."""
    return run_pipeline(pipeline, registry.get(pipeline), arguments, output_root, runner=runner, image=image)


def run_pipeline(name: str, pipeline_fn, arguments: dict, output_root: str | Path = "local_outputs",
                 runner: str = "subprocess", image: str = "") -> LocalRun:
    """Run a pipeline function (a shipped one, or one the studio built) with the local runner."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    root = Path(output_root).resolve() / f"{name}-{stamp}"
    root.mkdir(parents=True, exist_ok=True)
    from nlpfactory.tracking import ENV_PIPELINE, ENV_PIPELINE_RUN_ID

    # Set before the runner is made: the docker runner copies them into every container.
    os.environ[ENV_PIPELINE] = name  # shipped pipelines set it per task too; a studio graph does not
    os.environ[ENV_PIPELINE_RUN_ID] = f"local-{root.name}-{uuid.uuid4().hex[:8]}"
    if runner == "docker":
        from nlpfactory.pipelines.docker_runner import docker_runner, task_image

        with docker_runner(arguments, root, task_image(image)) as (docker, arguments):
            return _run(name, pipeline_fn, arguments, root, docker)
    if runner != "subprocess":
        raise InputError(f"unknown runner {runner!r}", fix="use --runner subprocess or --runner docker")
    from kfp import local

    return _run(name, pipeline_fn, arguments, root, local.SubprocessRunner(use_venv=False))


def _run(name: str, pipeline_fn, arguments: dict, root: Path, runner) -> LocalRun:
    from kfp import local

    from nlpfactory.pipelines.warm_start import warm_tasks

    workspace = Path(tempfile.mkdtemp(prefix="kfp-workspace-"))  # kfp's own would be left behind
    local.init(runner=runner, pipeline_root=str(root), workspace_root=str(workspace), raise_on_error=True)
    # This environment *is* the image's environment (same package), so kfp's warning that the
    # base image is not a plain Python image does not apply here.
    warnings.filterwarnings("ignore", message=".*non-Python base image.*", category=RuntimeWarning)
    # Display names are for the Kubeflow UI; locally the task names already say which is which.
    warnings.filterwarnings("ignore", message=".*'display_name'.*have no effect.*", category=UserWarning)
    # The tasks are subprocesses: they inherit the MLflow store, this run's id (never a task
    # parameter, so it stays out of the cache key) and its parameters; the first task opens the
    # parent run with them. This process never loads MLflow: that would only add to the wall time.
    from nlpfactory.tracking import ENV_PIPELINE_PARAMS, tracking_uri

    os.environ["MLFLOW_TRACKING_URI"] = _absolute_uri(tracking_uri())
    given = {n: default for n, (_, default) in parameters(pipeline_fn).items()} | arguments
    os.environ[ENV_PIPELINE_PARAMS] = json.dumps(given, default=str)
    # Signal handlers belong to the main thread (the studio may run a pipeline in another).
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if main_thread else None
    warm = warm_tasks() if isinstance(runner, local.SubprocessRunner) else contextlib.nullcontext()
    try:
        with warm:
            try:
                task = pipeline_fn(**arguments)
            except KeyboardInterrupt as err:
                # Inside `with warm`: its tasks are forks of the warm starter, found as the
                # starter's children only while it lives (once it ends they belong to init).
                stopped = stop_children()
                raise type(err)(f"pipeline {name!r} stopped ({stopped} task process(es) ended). Run the "
                                "same command again to resume: finished tasks are in "
                                f"{root}, and a training task starts from its last checkpoint") from None
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
        shutil.rmtree(workspace, ignore_errors=True)
        _remove_leftovers(root)
    output = getattr(task, "output", None) if task is not None and len(task.outputs) == 1 else None
    return LocalRun(name, root, output if isinstance(output, str) else "")


def _terminate(signum, frame):
    from nlpfactory.errors import Terminated

    raise Terminated


def _children(pid: int) -> list[int]:
    """Every process below `pid` (the task subprocesses kfp started, and theirs), from /proc."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # a process that just ended
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def stop_children(grace_s: float = 5.0) -> int:
    """End the task subprocesses: a task left running would keep writing a checkpoint that
    the next run resumes into. SIGTERM first, SIGKILL for any still alive after `grace_s`."""
    children = _children(os.getpid())
    pending = children
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pending:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace_s
        while pending and time.monotonic() < deadline:
            pending = [pid for pid in pending if _running(pid)]
            time.sleep(0.1)
        if not pending:
            break
    return len(children)


def _running(pid: int) -> bool:
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)  # our own child: collect it so it is not a zombie
        if reaped:
            return False
    except ChildProcessError:
        pass  # a grandchild: its parent collects it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat")
    return not (state.exists() and ") Z " in state.read_text())


def _remove_leftovers(root: Path) -> None:
    """Half-written task outputs (.*.partial-* folders of a killed task) and empty folders."""
    for partial in root.rglob(".*.partial-*"):
        shutil.rmtree(partial, ignore_errors=True)
    for folder in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        if not any(folder.iterdir()):
            folder.rmdir()
    if root.is_dir() and not any(root.iterdir()):
        root.rmdir()


def _absolute_uri(uri: str) -> str:
    """sqlite:///relative.db -> sqlite:////abs/relative.db, so every task writes the same file."""
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri.startswith(prefix + "/"):
        return prefix + str(Path(uri[len(prefix):]).resolve())
    return uri
