"""The landing pipeline: teacher → MLM augmentation → soft labels → vanilla KD → evaluate,
compare, export, end to end under kfp's local runner on tiny data."""

import json

import pandas as pd
import pytest
from kfp import compiler

from nlpfactory.pipelines import registry
from nlpfactory.pipelines.cli import main


def test_landing_pipeline_compiles_with_every_step(tmp_path):
    path = tmp_path / "landing.yaml"
    compiler.Compiler().compile(registry.get("landing"), str(path))
    text = path.read_text()
    for step in ("prepare-data", "finetune", "pretrain", "augment-data", "soft-label", "distill",
                 "evaluate", "compare", "export"):
        assert f"comp-{step}" in text, step


@pytest.mark.slow
def test_landing_pipeline_runs_locally(tmp_path, monkeypatch):
    from helpers import sentiment_frame
    from mlflow.tracking import MlflowClient

    from nlpfactory.tracking import TAG_TASK, tracking_uri

    data = tmp_path / "reviews.tsv"
    sentiment_frame(120).to_csv(data, sep="\t", index=False)
    monkeypatch.chdir(tmp_path)
    params = {"data_source": data, "max_rows": 0, "teacher": "tiny", "teacher_epochs": 3,
              "teacher_learning_rate": 0.002, "mlm_model": "tiny", "mlm_pretrain_steps": 10,
              "mlm_learning_rate": 0.002, "expansion": 3, "epochs": 2, "learning_rate": 0.002,
              "batch_size": 16, "max_length": 32}
    argv = ["run", "landing", "--local", "--output-root", str(tmp_path / "out")]
    for key, value in params.items():
        argv += ["--param", f"{key}={value}"]
    assert main(argv) == 0
    out = tmp_path / "out"

    # The soft-labelled augmented rows: 3 copies per row, each with the teacher's logits.
    labelled = next(p for p in out.rglob("soft-label/labelled"))
    train = pd.read_parquet(labelled / "train.parquet")
    originals = train[~train["augmented"]]
    assert len(train) == 4 * len(originals)
    assert train["logits"].map(len).eq(2).all()
    by_id = originals.set_index("source_id")["label"]
    assert (train["label"].to_numpy() == by_id.loc[train["source_id"]].to_numpy()).all()

    cards = {p.parent.parent.name: json.loads(p.read_text()) for p in out.rglob("nlpfactory.json")}
    assert cards["pretrain"]["kind"] == "mlm" and cards["distill"]["kind"] == "classifier"
    assert any(p.name == "model.onnx" for p in out.rglob("export/exported_model/*"))

    client = MlflowClient(tracking_uri())
    runs = client.search_runs([client.get_experiment_by_name("landing").experiment_id])
    tasks = {r.data.tags.get(TAG_TASK): r for r in runs if r.data.tags.get("mlflow.parentRunId")}
    assert {"prepare_data", "finetune", "pretrain", "augment_data", "soft_label", "distill",
            "evaluate teacher", "evaluate student"} <= set(tasks)
    assert tasks["distill"].data.params["temperature"] == "1.0"
    assert tasks["augment_data"].data.params["method"] == "mlm"
    assert tasks["evaluate teacher"].data.metrics["accuracy"] >= 0.8
    assert tasks["evaluate student"].data.metrics["accuracy"] >= 0.7
