"""MLflow tracking: one experiment per pipeline, one parent run per pipeline run, one child
run per task.

`MLFLOW_TRACKING_URI` decides where runs go; unset, they go to `sqlite:///mlflow.db` in the
working folder. Tracking never fails a stage: if the store cannot be reached, the stage warns
once, keeps going, and its outputs stay in the KFP artifacts.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nlpfactory.train.distributed import is_main_process

log = logging.getLogger(__name__)

DEFAULT_URI = "sqlite:///mlflow.db"
TAG_PIPELINE = "nlpfactory.pipeline"
TAG_KFP_RUN = "nlpfactory.kfp_run_id"
TAG_TASK = "nlpfactory.task"
TAG_PARENT = "nlpfactory.parent"


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_URI


class StageRun:
    """What a stage logs to. Every call is best-effort: the first failure warns, later ones
    are dropped, so a tracking outage never costs the stage its work."""

    def __init__(self, run_id: str | None, client=None):
        self.run_id = run_id
        self._client = client
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
            warnings.warn(f"MLflow tracking off for the rest of this stage ({tracking_uri()}): {why}. "
                          "Outputs are still written to the KFP artifacts.", stacklevel=3)
            self._warned = True
        self.run_id = None

    def log_params(self, params: dict[str, Any]) -> None:
        from mlflow.entities import Param

        flat = [Param(k, str(v)[:6000]) for k, v in _flatten(params).items()]
        self._call("log params", "log_batch", params=flat)

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        import time

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


def _artifact_location(experiment: str) -> str | None:
    """With a SQLite store, keep artifacts beside the database file; MLflow's default is a
    folder in whatever the working directory happens to be."""
    uri = tracking_uri()
    if not uri.startswith("sqlite:///"):
        return None  # a tracking server decides where artifacts go
    db = Path(uri[len("sqlite:///"):]).resolve()
    return (db.parent / "mlartifacts" / experiment).as_uri()


def _parent_run(client, experiment_id: str, pipeline: str, kfp_run_id: str) -> str:
    """Find the pipeline run's parent by its KFP run id, or start it (the first task does)."""
    query = f"tags.`{TAG_KFP_RUN}` = '{kfp_run_id}' and tags.`{TAG_PARENT}` = 'true'"
    found = client.search_runs([experiment_id], query, max_results=1, order_by=["attributes.start_time ASC"])
    if found:
        return found[0].info.run_id
    run = client.create_run(experiment_id, run_name=f"{pipeline} {kfp_run_id[:8]}",
                            tags={TAG_PIPELINE: pipeline, TAG_KFP_RUN: kfp_run_id, TAG_PARENT: "true"})
    return run.info.run_id


@contextlib.contextmanager
def stage_run(stage: str, params: dict[str, Any] | None = None, *, pipeline: str = "",
              pipeline_run_id: str = "", task: str | None = None) -> Iterator[StageRun]:
    """Open the MLflow child run of one task; yields a StageRun that logs best-effort.

    Outside a pipeline (`pipeline_run_id` empty) the run stands alone in an experiment named
    after the stage.
    """
    run = StageRun(None)
    parent_id = None
    if not is_main_process():  # under torchrun, rank 0 alone tracks
        yield run
        return
    try:
        import mlflow
        from mlflow.tracking import MlflowClient

        mlflow.set_tracking_uri(tracking_uri())
        client = MlflowClient(tracking_uri())
        experiment = pipeline or f"nlpfactory-{stage}"
        found = client.get_experiment_by_name(experiment)
        experiment_id = found.experiment_id if found else client.create_experiment(
            experiment, artifact_location=_artifact_location(experiment))
        tags = {TAG_TASK: task or stage, TAG_PIPELINE: pipeline}
        if pipeline_run_id:
            parent_id = _parent_run(client, experiment_id, pipeline or stage, pipeline_run_id)
            tags.update({"mlflow.parentRunId": parent_id, TAG_KFP_RUN: pipeline_run_id})
        created = client.create_run(experiment_id, run_name=task or stage, tags=tags)
        run = StageRun(created.info.run_id, client)
    except Exception as err:  # noqa: BLE001 - tracking must never fail the stage
        run._disable(f"could not start a run: {err}")
    if params:
        run.log_params(params)
    status = "FAILED"
    try:
        yield run
        status = "FINISHED"
    finally:
        if run.active:
            run._call("end the run", "set_terminated", status)
            if parent_id:
                # The parent ends with its latest task, so a finished pipeline shows finished.
                run._call("end the parent run", "set_terminated", status, run_id=parent_id)
