"""The tracking server a docker run starts beside its first container: a task that calls it
while it is still starting waits and lands its run in the store; a server that cannot start
fails the run with its log."""

from __future__ import annotations

import shutil
import time

import pytest

from nlpfactory.errors import InputError
from nlpfactory.pipelines.mlflow_server import tracking_server
from nlpfactory.tracking import ENV_TRACKING_READY_BY, MlflowTracker

pytestmark = pytest.mark.slow  # starts MLflow's server (seconds of imports)


def test_a_task_calling_at_once_waits_for_the_server_and_its_run_lands_in_the_store(
        tmp_path, monkeypatch, mlflow_template):
    from mlflow.tracking import MlflowClient

    shutil.copy(mlflow_template, tmp_path / "mlflow.db")
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with tracking_server(store) as served:
        assert served.uri.startswith("http://127.0.0.1:") and served.ready_by > time.time()
        assert served.writable == [tmp_path / "mlartifacts"]
        monkeypatch.setenv(ENV_TRACKING_READY_BY, str(served.ready_by))
        tracker = MlflowTracker(served.uri, pipeline="finetune", pipeline_run_id="run-1")
        with tracker.stage_run("finetune", task="finetune") as run:  # the server is still starting
            assert run.active
            run.log_metrics({"accuracy": 0.75})
            run.log_text("a report", "report.md")

    client = MlflowClient(store)
    [child] = [r for r in client.search_runs([client.get_experiment_by_name("finetune").experiment_id])
               if r.data.tags.get("mlflow.parentRunId")]
    assert child.data.metrics == {"accuracy": 0.75} and child.info.status == "FINISHED"
    # Artifacts go where a subprocess run puts them: beside the database, not through the server.
    assert list((tmp_path / "mlartifacts").rglob("report.md"))


def test_a_server_that_cannot_open_the_store_fails_the_run_with_its_log(tmp_path):
    (tmp_path / "mlflow.db").write_text("not a database")
    with pytest.raises(InputError, match="exited, so their runs were not tracked") as err:
        with tracking_server(f"sqlite:///{tmp_path / 'mlflow.db'}"):
            pass
    assert "its log ends" in str(err.value)
