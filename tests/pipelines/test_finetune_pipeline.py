"""The finetune pipeline end to end under kfp's local runner, with a real MLflow store."""

import json

import pytest

from nlpfactory.pipelines.cli import main

pytestmark = pytest.mark.usefixtures("mlflow_store")  # these tests track to MLflow


@pytest.mark.slow
def test_finetune_pipeline_runs_locally_and_tracks_every_task(tmp_path, monkeypatch, capsys):
    from helpers import sentiment_frame

    data = tmp_path / "reviews.tsv"
    sentiment_frame(160, domains=True).to_csv(data, sep="\t", index=False)
    monkeypatch.chdir(tmp_path)
    code = main(["run", "finetune", "--local", "--param", f"data_source={data}", "--param", "domain_col=domain",
                 "--param", "model=tiny", "--param", "epochs=3", "--param", "learning_rate=0.002",
                 "--param", "max_length=32", "--output-root", str(tmp_path / "out")])
    assert code == 0
    printed = capsys.readouterr().out
    assert "outputs:" in printed and "MLflow:" in printed
    assert "registry: models:/nlpfactory-finetune@candidate" in printed
    assert "accuracy" in printed  # the evaluation report is shown
    assert list((tmp_path / "out").rglob("model.int8.onnx"))

    # Artifacts: a Dataset, a Model that plain transformers loads, metrics and a report.
    model_dirs = [p for p in (tmp_path / "out").rglob("nlpfactory.json") if p.parent.name == "trained_model"]
    assert len(model_dirs) == 1
    from transformers import AutoModelForSequenceClassification

    AutoModelForSequenceClassification.from_pretrained(model_dirs[0].parent)
    reports = [p for p in (tmp_path / "out").rglob("report") if p.is_file()]
    assert reports and "accuracy" in reports[0].read_text()

    # MLflow: one parent run and one child per task, with params and metrics.
    from mlflow.tracking import MlflowClient

    from nlpfactory.tracking import TAG_PARENT, TAG_TASK, tracking_uri

    client = MlflowClient(tracking_uri())
    runs = client.search_runs([client.get_experiment_by_name("finetune").experiment_id])
    parents = [r for r in runs if r.data.tags.get(TAG_PARENT) == "true"]
    children = {r.data.tags[TAG_TASK]: r for r in runs if r.data.tags.get("mlflow.parentRunId")}
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert {"prepare_data", "finetune", "evaluate model", "export"} <= set(children)
    assert all(r.info.status == "FINISHED" for r in children.values())
    # The parent carries the pipeline's parameters and each task's headline numbers.
    assert parents[0].data.params["epochs"] == "3" and parents[0].data.params["model"] == "tiny"
    assert parents[0].data.metrics["evaluate model.accuracy"] == children["evaluate model"].data.metrics["accuracy"]
    assert children["finetune"].data.params["epochs"] == "3"
    assert children["evaluate model"].data.metrics["accuracy"] >= 0.8
    assert "accuracy_hotel" in children["evaluate model"].data.metrics
    artifacts = {a.path for a in client.list_artifacts(children["evaluate model"].info.run_id)}
    assert {"report.md", "confusion_matrix.png"} <= artifacts


def test_unknown_parameter_is_refused_with_the_valid_names(capsys):
    code = main(["run", "finetune", "--param", "epoch=2"])
    assert code == 1
    err = capsys.readouterr().err
    assert "unknown pipeline parameter(s): epoch" in err and "epochs" in err


def test_parameters_are_parsed_to_their_types():
    from nlpfactory.pipelines.local import parse_params

    parsed = parse_params("finetune", ["epochs=2", "learning_rate=1e-4", "model=hfl/rbt3"])
    assert parsed == {"epochs": 2, "learning_rate": 1e-4, "model": "hfl/rbt3"}
    assert json.dumps(parsed)


def test_submit_command_sends_the_finetune_pipeline_to_kubeflow(monkeypatch, capsys):
    from fake_kfp import FakeKubeflow

    monkeypatch.delenv("KFP_HOST", raising=False)
    with FakeKubeflow(run_state="SUCCEEDED") as kubeflow:
        code = main(["submit", "finetune", "--host", kubeflow.url, "--param", "epochs=2",
                     "--param", "model=hfl/rbt3", "--wait"])
    assert code == 0
    [run] = kubeflow.runs
    # With cluster settings (by default the tracking ConfigMap) kfp sends the pipeline spec
    # together with its platform spec.
    sent = run["pipeline_spec"]
    assert sent["pipeline_spec"]["pipelineInfo"]["name"] == "finetune"
    assert "mlflow-tracking" in str(sent["platform_spec"])
    assert run["runtime_config"]["parameters"] == {"epochs": 2, "model": "hfl/rbt3"}
    assert "state: SUCCEEDED" in capsys.readouterr().out
