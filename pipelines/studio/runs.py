"""Studio runs: each in RUN_DIR = <studio folder>/runs/<id>/, keeping the graph, the arguments
and the compiled YAML it ran, so it can be reopened and run again.

A local run is a background process (worker.py) using the same local runner as `nlpfactory
run`; its task states come from kfp's log lines and its results from the task outputs. A
Kubeflow run is submitted with `nlpfactory submit`'s client and its state is asked of the host.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from nlpfactory.errors import InputError
from nlpfactory.pipelines.studio.build import compile_graph, pipeline_function
from nlpfactory.pipelines.studio.graph import Graph

ANSI = re.compile(r"\x1b\[[0-9;]*m")
STARTED = re.compile(r"Executing task '([^']+)'")
ENDED = re.compile(r"Task '([^']+)' finished with status (SUCCESS|FAILURE)")
KUBEFLOW_STATES = {"SUCCEEDED": "done", "FAILED": "failed", "RUNNING": "running", "PENDING": "waiting",
                   "CANCELED": "failed", "SKIPPED": "done", "CANCELING": "running"}


def start_local(studio_dir: Path, graph: Graph, arguments: dict | None = None) -> str:
    """Start a background local run of `graph`; returns its id at once."""
    run_dir = _new_run_dir(studio_dir, graph, arguments or {})
    env = dict(os.environ)
    # The tasks run `python3 -m kfp.dsl.executor_main`: it must be this environment's Python.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    with open(run_dir / "log.txt", "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "nlpfactory.pipelines.studio.worker", str(run_dir)],
                                   stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    _update(run_dir, pid=process.pid)
    return run_dir.name


def submit_kubeflow(studio_dir: Path, graph: Graph, host: str, arguments: dict | None = None, **options) -> str:
    """Start the graph on a Kubeflow Pipelines host; returns the studio's run id."""
    from nlpfactory.pipelines.remote import submit

    run_dir = _new_run_dir(studio_dir, graph, arguments or {}, kind="kubeflow")
    result = submit(str(run_dir / "pipeline.yaml"), host, arguments or {}, **options)
    _update(run_dir, host=host, kfp_run_id=result.run_id, url=result.run_url)
    return run_dir.name


def state(studio_dir: Path, run_id: str) -> dict[str, Any]:
    """The run as the page shows it: overall state and each node's (waiting, running, done, failed)."""
    run_dir = run_folder(studio_dir, run_id)
    info = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    if info["kind"] == "kubeflow":
        return info | _kubeflow_state(info)
    result = _result(run_dir)
    overall = result["state"] if result else ("running" if _alive(info.get("pid")) else "failed")
    by_task = _task_states(_log(run_dir))
    nodes = {}
    for node_id, task in info["tasks"].items():
        node_state = by_task.get(task, "waiting")
        if overall == "failed" and node_state == "running":
            node_state = "failed"  # the process ended (or was stopped) inside this task
        nodes[node_id] = node_state
    error = result.get("error") if result else ("" if overall == "running" else "the run's process ended without a result")
    return info | {"state": overall, "nodes": nodes, "error": error}


def node_log(studio_dir: Path, run_id: str, node_id: str) -> str:
    """The lines the local runner printed for one node's task."""
    run_dir = run_folder(studio_dir, run_id)
    task = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))["tasks"].get(node_id)
    lines, inside = [], False
    for line in _log(run_dir).splitlines():
        started = STARTED.search(line)
        if started:
            inside = started.group(1) == task
        if inside:
            lines.append(line)
            if ENDED.search(line):
                inside = False
    return "\n".join(lines)


def task_folder(studio_dir: Path, run_id: str, node_id: str) -> Path | None:
    """Where a node's task wrote its outputs: <outputs>/<pipeline>-<time>/<kfp run>/<task>."""
    run_dir = run_folder(studio_dir, run_id)
    task = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))["tasks"].get(node_id)
    found = sorted((run_dir / "outputs").glob(f"*/*/{task}")) if task else []
    return found[-1] if found else None


def list_runs(studio_dir: Path) -> list[dict]:
    runs = []
    for info in sorted((studio_dir / "runs").glob("*/run.json"), reverse=True):
        runs.append(json.loads(info.read_text(encoding="utf-8")))
    return runs


def stop(studio_dir: Path, run_id: str) -> None:
    info = json.loads((run_folder(studio_dir, run_id) / "run.json").read_text(encoding="utf-8"))
    if info.get("pid") and _alive(info["pid"]):
        os.killpg(info["pid"], signal.SIGTERM)  # the worker and the task it runs


def run_folder(studio_dir: Path, run_id: str) -> Path:
    folder = studio_dir / "runs" / run_id
    if not re.fullmatch(r"[\w.-]+", run_id) or not (folder / "run.json").is_file():
        raise InputError(f"no studio run {run_id!r}", file=str(studio_dir / "runs"),
                         fix="pick a run from the runs list")
    return folder


def _new_run_dir(studio_dir: Path, graph: Graph, arguments: dict, kind: str = "local") -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir = studio_dir / "runs" / f"{graph.name}-{stamp}-{secrets.token_hex(2)}"
    run_dir.mkdir(parents=True)
    tasks: dict[str, str] = {}
    pipeline_function(graph, tasks)  # checks the graph and learns the task names kfp gives
    compile_graph(graph, run_dir / "pipeline.yaml")
    (run_dir / "graph.json").write_text(json.dumps(graph.to_json(), indent=2, ensure_ascii=False), encoding="utf-8")
    (run_dir / "arguments.json").write_text(json.dumps(arguments, indent=2, ensure_ascii=False), encoding="utf-8")
    shown = {n.id: n.label or tasks[n.id] for n in graph.nodes}  # Kubeflow reports display names
    _update(run_dir, id=run_dir.name, name=graph.name, kind=kind, tasks=tasks, shown=shown,
            started=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    return run_dir


def _update(run_dir: Path, **fields) -> None:
    path = run_dir / "run.json"
    info = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    path.write_text(json.dumps(info | fields, indent=2, ensure_ascii=False), encoding="utf-8")


def _result(run_dir: Path) -> dict | None:
    path = run_dir / "result.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _log(run_dir: Path) -> str:
    path = run_dir / "log.txt"
    return ANSI.sub("", path.read_text(encoding="utf-8", errors="replace")) if path.is_file() else ""


def _task_states(log: str) -> dict[str, str]:
    states: dict[str, str] = {}
    for line in log.splitlines():
        if started := STARTED.search(line):
            states[started.group(1)] = "running"
        elif ended := ENDED.search(line):
            states[ended.group(1)] = "done" if ended.group(2) == "SUCCESS" else "failed"
    return states


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)  # reaps our own finished child
        return finished == 0
    except ChildProcessError:  # not our child (a restarted server): ask the OS
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


def _kubeflow_state(info: dict) -> dict[str, Any]:
    from nlpfactory.pipelines.remote import _kubeflow_call, connect

    client = connect(info["host"])
    with _kubeflow_call(info["host"], f"report on run {info['kfp_run_id']}"):
        run = client.get_run(info["kfp_run_id"])
    overall = KUBEFLOW_STATES.get(str(run.state or "PENDING"), "running")
    by_task = {}
    details = getattr(run, "run_details", None)
    for task in (getattr(details, "task_details", None) or []):
        by_task[task.display_name] = KUBEFLOW_STATES.get(str(task.state or "PENDING"), "running")
    nodes = {node: by_task.get(shown, "waiting" if overall == "running" else overall)
             for node, shown in info["shown"].items()}
    return {"state": overall, "nodes": nodes, "error": ""}
