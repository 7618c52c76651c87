"""Tracking is passed in: a plain call writes nothing; MLflow runs fail fast and tell the truth."""

import os
import shutil
import socket
import subprocess
import sys
import time
import warnings

import pytest

from nlpfactory.tracking import (
    NO_TRACKING,
    TAG_PARENT,
    MlflowTracker,
    tracking_uri,
    ui_hint,
)

pytestmark = pytest.mark.usefixtures("mlflow_store")  # these tests track to MLflow


def _children_and_parent(experiment: str):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri())
    runs = client.search_runs([client.get_experiment_by_name(experiment).experiment_id])
    parents = [r for r in runs if r.data.tags.get(TAG_PARENT) == "true"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId")]
    return parents, children


def test_a_plain_call_tracks_nothing_and_writes_no_store(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    monkeypatch.chdir(tmp_path)
    with NO_TRACKING.stage_run("finetune", {"epochs": 1}) as run:
        run.log_metrics({"loss": 1.0}, step=1)
        run.log_text("report", "report.md")
    assert not run.active and run.pipeline_run_id == ""
    assert list(tmp_path.iterdir()) == []


def test_an_untracked_run_never_imports_mlflow():
    """Importing mlflow takes seconds: every torchrun rank and plain Python call would pay it."""
    code = ("import sys\n"
            "from nlpfactory.tracking import NO_TRACKING\n"
            "with NO_TRACKING.stage_run('finetune', {'epochs': 1}) as run:\n"
            "    run.log_params({'learning_rate_used': 1e-4}); run.log_metrics({'loss': 1.0}, step=1)\n"
            "    run.log_text('report', 'report.md'); run.set_tags({'a': 'b'})\n"
            "print('mlflow' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_tasks_of_one_pipeline_run_share_a_parent_that_shows_the_worst_child():
    tracker = MlflowTracker(pipeline="finetune", pipeline_run_id="run-123")
    tracker.open_parent({"epochs": 2, "model": "tiny"})
    with tracker.stage_run("prepare_data", {"x": 1}) as run:
        run.log_metrics({"m": 1.0})
    tracker.summarize("prepare_data", {"rows": 10.0})
    with pytest.raises(RuntimeError), MlflowTracker(pipeline="finetune", pipeline_run_id="run-123").stage_run("finetune"):
        raise RuntimeError("the task failed")
    # A task that finishes later must not hide the failure.
    with MlflowTracker(pipeline="finetune", pipeline_run_id="run-123").stage_run("evaluate"):
        pass
    parents, children = _children_and_parent("finetune")
    assert len(parents) == 1 and len(children) == 3
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {parents[0].info.run_id}
    assert sorted(r.info.status for r in children) == ["FAILED", "FINISHED", "FINISHED"]
    assert parents[0].info.status == "FAILED"
    assert parents[0].data.params == {"epochs": "2", "model": "tiny"}
    assert parents[0].data.metrics == {"prepare_data.rows": 10.0}


def test_an_interrupted_task_is_closed_as_killed():
    tracker = MlflowTracker(pipeline="distill", pipeline_run_id="run-9")
    with pytest.raises(KeyboardInterrupt), tracker.stage_run("distill"):
        raise KeyboardInterrupt
    parents, children = _children_and_parent("distill")
    assert [r.info.status for r in children] == ["KILLED"] and parents[0].info.status == "KILLED"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_server_costs_seconds_warns_once_and_the_stage_finishes(monkeypatch):
    # A port nobody listens on: refused at once. A silent host would cost the probe's 2 s.
    uri = f"http://127.0.0.1:{_free_port()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    started = time.monotonic()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tracker = MlflowTracker.from_env()
        with tracker.stage_run("finetune", {"epochs": 1}) as run:
            for step in range(50):
                run.log_metrics({"loss": 1.0}, step=step)
            run.log_text("report", "report.md")
        tracker.summarize("finetune", {"accuracy": 1.0})
    assert time.monotonic() - started < 10
    messages = [str(w.message) for w in caught if "MLflow tracking off" in str(w.message)]
    assert len(messages) == 1 and uri in messages[0]


def test_a_server_still_starting_is_waited_for_until_ready_by_and_no_longer():
    import http.server
    import threading

    from nlpfactory.tracking import unreachable

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    port = _free_port()
    uri = f"http://127.0.0.1:{port}"
    late = threading.Timer(1.0, lambda: threading.Thread(
        target=http.server.HTTPServer(("127.0.0.1", port), Health).serve_forever, daemon=True).start())
    late.start()
    assert unreachable(uri) is not None  # not up yet, and no wait asked for: one refused probe
    assert unreachable(uri, ready_by=time.time() + 30) is None  # up a second later
    late.join()

    never = f"http://127.0.0.1:{_free_port()}"
    started = time.monotonic()
    why = unreachable(never, ready_by=time.time() + 1.5)
    assert "waited" in why and "NLPFACTORY_TRACKING_READY_BY" in why
    assert 1.4 < time.monotonic() - started < 10


def test_the_ui_hint_fits_the_kind_of_store():
    assert ui_hint("sqlite:///mlflow.db") == "mlflow ui --backend-store-uri sqlite:///mlflow.db"
    assert ui_hint("file:///tmp/mlruns").startswith("mlflow ui --backend-store-uri")
    assert "mlflow ui" not in ui_hint("http://127.0.0.1:5000") and "http://127.0.0.1:5000" in ui_hint("http://127.0.0.1:5000")


@pytest.mark.slow
def test_a_server_killed_mid_stage_costs_a_bounded_time(tmp_path, mlflow_template):
    """A real `mlflow server` on loopback, stopped while a stage is logging: the stage goes on
    within seconds instead of MLflow's minutes of retries."""
    port = _free_port()
    # The server starts on an already migrated store and without MLflow's job runner (neither
    # is what this test is about; together they were most of its time).
    shutil.copy(mlflow_template, tmp_path / "server.db")
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}", "--workers", "1",
         "--default-artifact-root", str(tmp_path / "artifacts")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"})
    uri = f"http://127.0.0.1:{port}"
    try:
        _wait_for(uri, seconds=90)
        tracker = MlflowTracker(uri, pipeline="finetune", pipeline_run_id="run-k")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with tracker.stage_run("finetune", {"epochs": 1}) as run:
                run.log_metrics({"loss": 1.0}, step=0)
                assert run.active
                os.killpg(server.pid, 9)
                server.wait(timeout=30)
                started = time.monotonic()
                for step in range(1, 50):
                    run.log_metrics({"loss": 1.0}, step=step)
                run.log_text("report", "report.md")
            spent = time.monotonic() - started
        assert spent < 15, f"{spent:.1f} s spent on tracking after the server died"
        assert len([w for w in caught if "MLflow tracking off" in str(w.message)]) == 1
    finally:
        if server.poll() is None:
            os.killpg(server.pid, 9)


def _wait_for(uri: str, seconds: float) -> None:
    from nlpfactory.tracking import unreachable

    deadline = time.monotonic() + seconds
    while unreachable(uri, timeout=1) and time.monotonic() < deadline:
        time.sleep(0.5)
    if unreachable(uri, timeout=1):
        pytest.skip("mlflow server did not start")


def test_tracking_env_of_the_fail_fast_client_does_not_override_the_users(monkeypatch, mlflow_store):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "3")
    MlflowTracker(f"sqlite:///{mlflow_store}")._connect()  # the test's store, already migrated
    assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "3"
