"""MLflow tracking, passed into a stage as a tracker: one experiment per pipeline, one parent
run per pipeline run, one child run per task.

The library never learns a pipeline's name or run id: whoever runs a stage hands it a tracker.
A plain Python call gets `NO_TRACKING` (nothing is written, not even `./mlflow.db`); the
component and command-line layers build an `MlflowTracker` from the environment
(`MLFLOW_TRACKING_URI`, `NLPFACTORY_PIPELINE`, `NLPFACTORY_PIPELINE_RUN_ID`), which the local
runner and the compiled pipeline's platform config set, so the run id is never a task
parameter and never part of KFP's cache key. The local runner also hands over the pipeline's
parameters (`NLPFACTORY_PIPELINE_PARAMS`, JSON): the first task to open the parent run logs
them, so the runner itself never loads MLflow (seconds of imports and store set-up that would
add to every run's wall time).

Tracking never fails a stage and never holds it up for long: an http(s) server is probed once
with a short timeout (or, when the runner says it is still starting, until the time it gave),
MLflow's own client is told not to retry, and the first failure turns tracking off for the
rest of the stage with one warning. The stage's outputs stay in its KFP
artifacts either way.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nlpfactory.train.distributed import is_main_process

log = logging.getLogger(__name__)

DEFAULT_URI = "sqlite:///mlflow.db"
ENV_PIPELINE = "NLPFACTORY_PIPELINE"
ENV_PIPELINE_RUN_ID = "NLPFACTORY_PIPELINE_RUN_ID"
ENV_PIPELINE_PARAMS = "NLPFACTORY_PIPELINE_PARAMS"
# Epoch seconds until which a tracking server may still be starting: a task that finds it
# silent waits for it until then (a docker run starts its server beside the first container).
ENV_TRACKING_READY_BY = "NLPFACTORY_TRACKING_READY_BY"
TAG_PIPELINE = "nlpfactory.pipeline"
TAG_KFP_RUN = "nlpfactory.kfp_run_id"
TAG_TASK = "nlpfactory.task"
TAG_PARENT = "nlpfactory.parent"

# MLflow's client retries each call 7 times with back-off (minutes per call when the server
# is gone). Ours makes one attempt with a short timeout; a user's own setting wins.
FAIL_FAST_ENV = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "5"}
PROBE_SECONDS = 2.0

# A parent run shows its worst child: a failed task is never hidden by a later finished one.
_WORSE_FIRST = ("FAILED", "KILLED", "FINISHED")


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_URI


def ui_hint(uri: str) -> str:
    """How to look at the runs: a server already has a UI; a file or database store needs one."""
    if uri.startswith(("http://", "https://")):
        return f"open {uri} in a browser"
    if uri.startswith("databricks"):
        return "open the Databricks workspace's Experiments page"
    return f"mlflow ui --backend-store-uri {uri}"


def unreachable(uri: str, timeout: float = PROBE_SECONDS, ready_by: float = 0.0) -> str | None:
    """Why an http(s) tracking server cannot be used now, or None when it answers. Until
    `ready_by` (epoch seconds) a server that does not answer is waited for.

    Any HTTP answer counts as reachable (a proxy may guard /health); only a refused, reset or
    silent connection does not. File and database stores are not probed.
    """
    if not uri.startswith(("http://", "https://")):
        return None
    started = time.time()
    while (why := _probe(uri, timeout)) and time.time() < ready_by:
        time.sleep(0.2)
    if why and ready_by > started:
        why += f"; waited {time.time() - started:.0f} s for it to start ({ENV_TRACKING_READY_BY})"
    return why


def _probe(uri: str, timeout: float) -> str | None:
    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout):
            return None
    except urllib.error.HTTPError:
        return None
    except (OSError, ValueError) as err:
        return f"cannot connect: {getattr(err, 'reason', err)} (probe timeout {timeout:g} s)"


class StageRun:
    """What a stage logs to. Every call is best-effort: the first failure warns, later ones
    are dropped, so a tracking outage never costs the stage its work."""

    def __init__(self, run_id: str | None, client=None, *, pipeline_run_id: str = "", uri: str = ""):
        self.run_id = run_id
        self.pipeline_run_id = pipeline_run_id  # for the lineage a stage writes into its card
        self._client = client
        self._uri = uri
        self._warned = False

    @property
    def active(self) -> bool:
        return self.run_id is not None

    def _call(self, what: str, method: str, *args, run_id: str | None = None, **kwargs) -> None:
        """Call MlflowClient.<method>(run_id, ...) unless tracking is off."""
        if not self.active:
            return
        try:
            getattr(self._client, method)(run_id or self.run_id, *args, **kwargs)
        except Exception as err:  # noqa: BLE001 - tracking must never fail the stage
            self._disable(f"could not {what}: {err}")

    def _disable(self, why: str) -> None:
        if not self._warned:
            warnings.warn(f"MLflow tracking off for the rest of this stage ({self._uri or tracking_uri()}): "
                          f"{why}. Outputs are still written to the KFP artifacts.", stacklevel=3)
            self._warned = True
        self.run_id = None

    def log_params(self, params: dict[str, Any]) -> None:
        if not self.active:  # mlflow takes seconds to import: not for a run that is not tracked
            return
        from mlflow.entities import Param

        flat = [Param(k, str(v)[:6000]) for k, v in _flatten(params).items()]
        self._call("log params", "log_batch", params=flat)

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        if not self.active:
            return
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [Metric(_safe_key(k), float(v), now, step or 0) for k, v in metrics.items()
                 if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if items:
            self._call("log metrics", "log_batch", metrics=items)

    def log_text(self, text: str, artifact_file: str) -> None:
        self._call("log a text artifact", "log_text", text, artifact_file)

    def log_figure(self, figure, artifact_file: str) -> None:
        self._call("log a figure", "log_figure", figure, artifact_file)

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        self._call("log an artifact", "log_artifact", str(path), artifact_path)

    def set_tags(self, tags: dict[str, str]) -> None:
        for k, v in tags.items():
            self._call("set a tag", "set_tag", k, str(v))


class Tracker:
    """Where a stage's run is logged. This one logs nothing: the tracker of a plain Python call."""

    def stage_run(self, stage: str, params: dict[str, Any] | None = None, *,
                  task: str | None = None) -> contextlib.AbstractContextManager[StageRun]:
        return contextlib.nullcontext(StageRun(None))

    def summarize(self, task: str, metrics: dict[str, float]) -> None:
        """Put a finished task's headline numbers on the pipeline's parent run."""


NO_TRACKING = Tracker()


class MlflowTracker(Tracker):
    """Logs to MLflow at `uri`. Inside a pipeline run (`pipeline_run_id` set) each task's run is
    a child of the pipeline run's parent; otherwise it stands alone in an experiment named
    after the stage."""

    def __init__(self, uri: str | None = None, *, pipeline: str = "", pipeline_run_id: str = "",
                 pipeline_params: dict[str, Any] | None = None):
        self.uri = uri or tracking_uri()
        self.pipeline, self.pipeline_run_id = pipeline, pipeline_run_id
        self.pipeline_params = pipeline_params or {}  # logged on the parent by whoever creates it
        self._parent_id: str | None = None
        self._task = ""  # the last task's name, as its run is called
        self._last: StageRun | None = None  # the last task's run: inactive once tracking failed
        self._client = None
        self._off: str | None = None  # why tracking is off, once it is

    @classmethod
    def from_env(cls) -> MlflowTracker:
        return cls(tracking_uri(), pipeline=os.environ.get(ENV_PIPELINE, ""),
                   pipeline_run_id=os.environ.get(ENV_PIPELINE_RUN_ID, ""),
                   pipeline_params=_params_from_env())

    def _connect(self):
        """The MLflow client, or None (with the reason kept) when the store is unreachable. The
        store is probed once per tracker."""
        if self._off or self._client:
            return None if self._off else self._client
        for name, value in FAIL_FAST_ENV.items():
            os.environ.setdefault(name, value)
        self._off = unreachable(self.uri, ready_by=_ready_by_from_env())
        if self._off:
            return None
        import mlflow
        from mlflow.tracking import MlflowClient

        mlflow.set_tracking_uri(self.uri)
        self._client = MlflowClient(self.uri)
        return self._client

    def _experiment_id(self, client, name: str) -> str:
        found = client.get_experiment_by_name(name)
        return found.experiment_id if found else client.create_experiment(
            name, artifact_location=_artifact_location(self.uri, name))

    def open_parent(self, params: dict[str, Any] | None = None) -> str | None:
        """Find or start the pipeline run's parent (the runner or the first task does) and make
        sure it shows RUNNING while a task works."""
        client = self._connect()
        if client is None:
            return None
        experiment_id = self._experiment_id(client, self.pipeline or "nlpfactory")
        query = f"tags.`{TAG_KFP_RUN}` = '{self.pipeline_run_id}' and tags.`{TAG_PARENT}` = 'true'"
        found = client.search_runs([experiment_id], query, max_results=1, order_by=["attributes.start_time ASC"])
        if found:
            self._parent_id = found[0].info.run_id
            if found[0].info.status != "RUNNING":
                client.update_run(self._parent_id, status="RUNNING")
        else:
            run = client.create_run(experiment_id, run_name=f"{self.pipeline} {self.pipeline_run_id[:8]}",
                                    tags={TAG_PIPELINE: self.pipeline, TAG_KFP_RUN: self.pipeline_run_id,
                                          TAG_PARENT: "true"})
            self._parent_id = run.info.run_id
            params = self.pipeline_params | (params or {})
        if params:
            StageRun(self._parent_id, client, uri=self.uri).log_params(params)
        return self._parent_id

    @contextlib.contextmanager
    def stage_run(self, stage: str, params: dict[str, Any] | None = None, *,
                  task: str | None = None) -> Iterator[StageRun]:
        run = StageRun(None, uri=self.uri)
        if not is_main_process():  # under torchrun, rank 0 alone tracks
            yield run
            return
        try:
            run = self._start(stage, task or stage)
        except Exception as err:  # noqa: BLE001 - tracking must never fail the stage
            self._off = self._off or str(err)
            run._disable(f"could not start a run: {err}")
        if params:
            run.log_params(params)
        status = "FAILED"
        try:
            yield run
            status = "FINISHED"
        except (KeyboardInterrupt, SystemExit):
            status = "KILLED"  # Ctrl-C, or SIGTERM from a cancelled KFP run (see install_kill_handler)
            raise
        finally:
            if run.active:
                run._call("end the run", "set_terminated", status)
                self._close_parent(run)

    def _start(self, stage: str, task: str) -> StageRun:
        self._task = task
        client = self._connect()
        if client is None:
            run = StageRun(None, uri=self.uri)
            run._disable(f"the tracking server is unreachable: {self._off}")
            return run
        tags = {TAG_TASK: task, TAG_PIPELINE: self.pipeline}
        if self.pipeline_run_id:
            parent_id = self.open_parent()
            experiment_id = client.get_run(parent_id).info.experiment_id
            tags.update({"mlflow.parentRunId": parent_id, TAG_KFP_RUN: self.pipeline_run_id})
        else:
            experiment_id = self._experiment_id(client, self.pipeline or f"nlpfactory-{stage}")
        created = client.create_run(experiment_id, run_name=task, tags=tags)
        self._last = StageRun(created.info.run_id, client, pipeline_run_id=self.pipeline_run_id, uri=self.uri)
        return self._last

    def _close_parent(self, run: StageRun) -> None:
        """End the parent with its worst child once no child is running; a later task reopens it."""
        if not self._parent_id or not run.active:
            return
        try:
            parent = self._client.get_run(self._parent_id)
            children = self._client.search_runs(
                [parent.info.experiment_id], f"tags.`mlflow.parentRunId` = '{self._parent_id}'")
            statuses = {c.info.status for c in children}
            if "RUNNING" in statuses or "SCHEDULED" in statuses:
                return
            worst = next((s for s in _WORSE_FIRST if s in statuses), "FINISHED")
            self._client.set_terminated(self._parent_id, worst)
        except Exception as err:  # noqa: BLE001 - tracking must never fail the stage
            run._disable(f"could not update the pipeline's parent run: {err}")

    def summarize(self, task: str, metrics: dict[str, float]) -> None:
        # After a failure mid-stage the server is taken to be gone: no second wait for it.
        if self._parent_id and self._last is not None and self._last.active:
            StageRun(self._parent_id, self._client, uri=self.uri).log_metrics(
                {f"{self._task or task}.{name}": value for name, value in metrics.items()})


def install_kill_handler() -> None:
    """Turn SIGTERM (how Kubernetes and kfp stop a task) into SystemExit, so an open stage run
    is closed as KILLED instead of being left RUNNING."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _exit_on_signal)


def _exit_on_signal(signum, frame):
    raise SystemExit(128 + signum)


def _params_from_env() -> dict[str, Any]:
    import json

    text = os.environ.get(ENV_PIPELINE_PARAMS, "")
    try:
        params = json.loads(text) if text else {}
    except ValueError:
        log.warning("%s is not JSON; the pipeline's parameters are not logged", ENV_PIPELINE_PARAMS)
        return {}
    return params if isinstance(params, dict) else {}


def _ready_by_from_env() -> float:
    text = os.environ.get(ENV_TRACKING_READY_BY, "")
    try:
        return float(text) if text else 0.0
    except ValueError:
        log.warning("%s is not a number of seconds; the tracking server is not waited for", ENV_TRACKING_READY_BY)
        return 0.0


def _safe_key(key: str) -> str:
    return "".join(c if c.isalnum() or c in "_-./ " else "_" for c in key)


def _flatten(params: dict, prefix: str = "") -> dict[str, Any]:
    out = {}
    for k, v in params.items():
        if isinstance(v, dict) and v:
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _artifact_location(uri: str, experiment: str) -> str | None:
    """With a SQLite store, keep artifacts beside the database file; MLflow's default is a
    folder in whatever the working directory happens to be."""
    if not uri.startswith("sqlite:///"):
        return None  # a tracking server decides where artifacts go
    db = Path(uri[len("sqlite:///"):]).resolve()
    return (db.parent / "mlartifacts" / experiment).as_uri()
