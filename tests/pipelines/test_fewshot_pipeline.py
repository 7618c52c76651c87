"""The fewshot pipeline end to end under kfp's local runner, once per method, with MLflow."""

import json

import pytest

from nlpfactory.pipelines.cli import main

TINY = ["--param", "model=tiny", "--param", "shots_per_class=8", "--param", "epochs=4",
        "--param", "batch_size=8", "--param", "learning_rate=0.002", "--param", "max_length=32",
        "--param", 'verbalizer={"positive": "满意", "negative": "很差"}']


def run(tmp_path, monkeypatch, *params):
    from helpers import sentiment_frame

    data = tmp_path / "reviews.tsv"
    sentiment_frame(120).to_csv(data, sep="\t", index=False)
    monkeypatch.chdir(tmp_path)
    code = main(["run", "fewshot", "--local", "--param", f"data_source={data}", *TINY, *params,
                 "--output-root", str(tmp_path / "out")])
    assert code == 0
    from mlflow.tracking import MlflowClient

    from nlpfactory.tracking import TAG_TASK, tracking_uri

    client = MlflowClient(tracking_uri())
    runs = client.search_runs([client.get_experiment_by_name("fewshot").experiment_id])
    return {r.data.tags[TAG_TASK]: r for r in runs if r.data.tags.get("mlflow.parentRunId")}


def model_card(tmp_path):
    cards = [json.loads(p.read_text()) for p in (tmp_path / "out").rglob("nlpfactory.json")]
    return [c for c in cards if c["kind"] in ("pet", "ptuning", "cptuning")]


@pytest.mark.slow
@pytest.mark.parametrize("method", ["pet", "ptuning", "cptuning"])
def test_fewshot_pipeline_trains_and_evaluates_each_method(method, tmp_path, monkeypatch):
    children = run(tmp_path, monkeypatch, "--param", f"method={method}")
    assert {"prepare_data", "fewshot", "evaluate model"} <= set(children)
    assert "pretrain" not in children
    assert children["fewshot"].data.params["method"] == method
    assert children["fewshot"].data.metrics["train_rows"] == 16
    assert 0 <= children["evaluate model"].data.metrics["accuracy"] <= 1
    [card] = model_card(tmp_path)
    assert card["kind"] == method and card["fewshot"]["shots_per_class"] == 8


@pytest.mark.slow
def test_fewshot_pipeline_can_pretrain_the_backbone_first(tmp_path, monkeypatch):
    children = run(tmp_path, monkeypatch, "--param", "method=pet", "--param", "pretrain=true",
                   "--param", "pretrain_epochs=1")
    assert {"prepare_data", "pretrain", "fewshot", "evaluate model"} <= set(children)
    [card] = model_card(tmp_path)
    assert card["base_model"].endswith("pretrained_model")
