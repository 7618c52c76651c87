"""The studio's JSON API, through FastAPI's test client: palette, checks, compile, templates,
saved pipelines, and runs (local ones for real, Kubeflow ones against the fake server)."""

import time

import pytest
import yaml
from fake_kfp import FakeKubeflow
from fastapi.testclient import TestClient

from nlpfactory.pipelines.studio.server import create_app


@pytest.fixture
def client(tmp_path):
    return TestClient(create_app(tmp_path / "studio"))


def test_palette_lists_components_by_stage(client):
    answer = client.get("/api/palette").json()
    assert answer["stages"][:3] == ["data", "augmentation", "training"]
    finetune = next(c for c in answer["components"] if c["name"] == "finetune")
    assert finetune["stage"] == "training"
    epochs = next(p for p in finetune["parameters"] if p["name"] == "epochs")
    assert epochs["type"] == "NUMBER_INTEGER" and epochs["default"] == 3 and epochs["help"]


def test_validate_reports_per_node(client, finetune_graph):
    data = finetune_graph()
    data["edges"] = data["edges"][:2]
    answer = client.post("/api/validate", json=data).json()
    assert answer["ok"] is False
    assert answer["nodes"] == {"evaluate": ["input 'model' (Model) is not connected"]}


def test_compile_refuses_a_broken_graph_with_the_reason(client, finetune_graph):
    data = finetune_graph()
    data["edges"] = []
    answer = client.post("/api/compile", json=data)
    assert answer.status_code == 400
    assert "is not connected" in answer.json()["error"]


def test_every_shipped_pipeline_opens_as_a_graph(client):
    listed = {t["name"]: t for t in client.get("/api/templates").json()}
    assert set(listed) == {"backbone", "distill", "fewshot", "finetune", "landing", "metakd"}
    assert all(t["available"] for t in listed.values())
    graph = client.get("/api/templates/finetune").json()
    assert [n["id"] for n in graph["nodes"]] == ["prepare-data", "finetune", "evaluate", "export"]


def test_a_saved_pipeline_reopens_and_its_yaml_is_kfps(client, finetune_graph, tmp_path):
    data = finetune_graph(epochs=2)
    saved = client.put("/api/pipelines/tiny-finetune", json=data)
    assert saved.status_code == 200, saved.text
    assert client.get("/api/pipelines").json() == ["tiny-finetune"]
    reopened = client.get("/api/pipelines/tiny-finetune").json()
    assert reopened["name"] == "tiny-finetune"
    assert reopened["nodes"][1]["params"] == {"epochs": 2} and reopened["edges"] == data["edges"]
    compiled = next(yaml.safe_load_all((tmp_path / "studio" / "pipelines" / "tiny-finetune" / "pipeline.yaml").read_text()))
    assert compiled["pipelineInfo"]["name"] == "tiny-finetune"


def test_an_unknown_saved_pipeline_says_which_exist(client):
    answer = client.get("/api/pipelines/nothing")
    assert answer.status_code == 400 and "no saved pipeline 'nothing'" in answer.json()["error"]


def test_submit_to_kubeflow_sends_the_compiled_graph_and_follows_its_state(client, finetune_graph, monkeypatch):
    monkeypatch.delenv("KFP_TOKEN", raising=False)
    tasks = {"prepare-data": "SUCCEEDED", "finetune": "RUNNING"}
    with FakeKubeflow(run_state=["RUNNING", "SUCCEEDED"], task_states=tasks) as kubeflow:
        started = client.post("/api/runs", json={"graph": finetune_graph(), "target": "kubeflow", "host": kubeflow.url})
        assert started.status_code == 200, started.text
        run_id = started.json()["id"]
        sent = kubeflow.runs[0]["pipeline_spec"]["pipeline_spec"]  # kfp sends it beside the platform spec
        assert set(sent["root"]["dag"]["tasks"]) == {"prepare-data", "finetune", "evaluate"}
        first = client.get(f"/api/runs/{run_id}").json()
        assert first["state"] == "running"
        assert first["nodes"] == {"prepare-data": "done", "finetune": "running", "evaluate": "waiting"}
        assert first["url"].startswith(kubeflow.url)
        assert client.get(f"/api/runs/{run_id}").json()["state"] == "done"


def wait_for_end(client, run_id, timeout=900):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get(f"/api/runs/{run_id}").json()
        if run["state"] != "running":
            return run
        time.sleep(1)
    raise AssertionError(f"run {run_id} still running after {timeout} s")


@pytest.mark.slow
@pytest.mark.usefixtures("mlflow_store")  # the run tracks to MLflow: a store already migrated
def test_a_failing_node_is_shown_failed_with_its_log(client, finetune_graph, tmp_path):
    run_id = client.post("/api/runs", json={"graph": finetune_graph(tmp_path / "missing.tsv")}).json()["id"]
    run = wait_for_end(client, run_id)
    assert run["state"] == "failed"
    assert run["nodes"] == {"prepare-data": "failed", "finetune": "waiting", "evaluate": "waiting"}
    log = client.get(f"/api/runs/{run_id}/nodes/prepare-data").json()["log"]
    assert "missing.tsv" in log


@pytest.mark.slow
@pytest.mark.usefixtures("mlflow_store")  # the run tracks to MLflow: a store already migrated
def test_a_stopped_run_ends_failed(client, finetune_graph, tmp_path):
    from helpers import sentiment_frame

    data = tmp_path / "reviews.tsv"
    sentiment_frame(40).to_csv(data, sep="\t", index=False)
    run_id = client.post("/api/runs", json={"graph": finetune_graph(data)}).json()["id"]
    client.post(f"/api/runs/{run_id}/stop")
    run = wait_for_end(client, run_id, timeout=30)
    assert run["state"] == "failed" and run["error"]


@pytest.mark.slow
@pytest.mark.usefixtures("mlflow_store")  # the run tracks to MLflow: a store already migrated
def test_a_local_run_shows_results_and_its_model_can_be_tried(client, finetune_graph, tmp_path):
    from helpers import sentiment_frame

    data = tmp_path / "reviews.tsv"
    sentiment_frame(160).to_csv(data, sep="\t", index=False)
    graph = finetune_graph(data, model="tiny", epochs=3, learning_rate=0.002, max_length=32)
    run_id = client.post("/api/runs", json={"graph": graph}).json()["id"]
    assert client.get(f"/api/runs/{run_id}").json()["state"] == "running"
    run = wait_for_end(client, run_id)
    assert run["state"] == "done", run
    assert run["nodes"] == {"prepare-data": "done", "finetune": "done", "evaluate": "done"}

    evaluated = client.get(f"/api/runs/{run_id}/nodes/evaluate").json()
    assert evaluated["metrics"]["accuracy"] >= 0.8
    assert "accuracy" in evaluated["report"] and "Executing task 'evaluate'" in evaluated["log"]
    assert evaluated["confusion"]["labels"] == ["negative", "positive"]
    picture = client.get(f"/api/runs/{run_id}/nodes/evaluate/confusion.png")
    assert picture.headers["content-type"] == "image/png" and picture.content[:4] == b"\x89PNG"

    trained = client.get(f"/api/runs/{run_id}/nodes/finetune").json()
    assert trained["models"] == ["trained_model"] and "dev_accuracy" in trained["metrics"]
    predicted = client.post(f"/api/runs/{run_id}/nodes/finetune/try", json={"texts": ["房间很好，满意"]}).json()
    assert predicted[0]["label"] in ("positive", "negative")
    assert abs(sum(predicted[0]["probabilities"].values()) - 1) < 1e-3

    tracked = client.get(f"/api/runs/{run_id}/mlflow").json()
    assert {"prepare_data", "finetune"} <= {r["task"] for r in tracked}
    assert all(r["url"].endswith(r["run_id"]) for r in tracked)

    kept = client.get(f"/api/runs/{run_id}/graph").json()
    assert kept["graph"]["nodes"][1]["params"]["epochs"] == 3  # reopened as it ran
    assert run_id in [r["id"] for r in client.get("/api/runs").json()]
