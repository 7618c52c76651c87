"""The finetune pipeline with task=sequence_labeling under kfp's local runner."""

import json

import pytest

from nlpfactory.pipelines.cli import main

pytestmark = pytest.mark.usefixtures("mlflow_store")  # these runs track to MLflow: a store already migrated


@pytest.mark.slow
def test_finetune_pipeline_tags_a_conll_file(tmp_path, monkeypatch, capsys):
    from helpers import ner_conll

    data = ner_conll(tmp_path / "ner.conll", 200)
    monkeypatch.chdir(tmp_path)
    code = main(["run", "finetune", "--local", "--param", f"data_source={data}", "--param", "task=sequence_labeling",
                 "--param", "model=tiny", "--param", "epochs=4", "--param", "learning_rate=0.003",
                 "--param", "batch_size=16", "--param", "max_length=16", "--output-root", str(tmp_path / "out")])
    assert code == 0
    assert "entity F1" in capsys.readouterr().out  # the evaluation report is shown
    cards = [json.loads(p.read_text()) for p in (tmp_path / "out").rglob("nlpfactory.json")]
    kinds = {c["kind"] for c in cards}
    assert {"tagger", "onnx_tagger"} <= kinds
    export = next(c for c in cards if c["kind"] == "onnx_tagger")
    assert export["export"]["checks"]["onnx_max_abs_diff"] < 1e-4
    assert "int8_entity_f1_drop" in export["export"]["checks"]


@pytest.mark.slow
def test_distill_pipeline_distills_a_tagger_and_compares_it_by_entity_f1(tmp_path, monkeypatch, capsys):
    from helpers import ner_conll

    data = ner_conll(tmp_path / "ner.conll", 200)
    monkeypatch.chdir(tmp_path)
    train = ["--param", "batch_size=16", "--param", "max_length=16"]
    code = main(["run", "distill", "--local", "--param", f"data_source={data}", "--param", "task=sequence_labeling",
                 "--param", "teacher=tiny", "--param", "teacher_epochs=4", "--param", "teacher_learning_rate=0.003",
                 "--param", "student=tiny", "--param", "epochs=4", "--param", "learning_rate=0.003", *train,
                 "--param", "register_name=", "--output-root", str(tmp_path / "out")])
    assert code == 0
    shown = capsys.readouterr().out  # the reports: two evaluations and the comparison
    assert "| model | entity F1 |" in shown and "| entity type | teacher F1 | student F1 |" in shown
    cards = [json.loads(p.read_text()) for p in (tmp_path / "out").rglob("nlpfactory.json")]
    student = next(c for c in cards if c["kind"] == "tagger" and c["lineage"]["stage"] == "distill")
    assert student["dev_metrics"]["entity_f1"] > 0.5
    assert any(c["kind"] == "onnx_tagger" for c in cards)


@pytest.mark.slow
def test_metakd_pipeline_distills_a_tagger_per_domain_from_a_tagged_table(tmp_path, monkeypatch, capsys):
    import pandas as pd
    from helpers import sparse_ner_dataset

    frames = [pd.read_parquet(p) for p in sorted(sparse_ner_dataset(tmp_path / "ds", 600, domains=("news", "forum")).glob("*.parquet"))]
    table = pd.concat(frames).assign(tags=lambda f: f["tags"].map(" ".join))
    table.to_csv(tmp_path / "ner.tsv", sep="\t", index=False)
    monkeypatch.chdir(tmp_path)
    train = ["--param", "batch_size=32", "--param", "max_length=64"]
    code = main(["run", "metakd", "--local", "--param", f"data_source={tmp_path / 'ner.tsv'}",
                 "--param", "task=sequence_labeling", "--param", "domain_col=domain", "--param", 'domains=["news", "forum"]',
                 "--param", "teacher=tiny", "--param", "teacher_epochs=4", "--param", "teacher_learning_rate=0.002",
                 "--param", "student=tiny", "--param", "stage1_epochs=1", "--param", "stage2_epochs=6",
                 "--param", "stage1_learning_rate=0.002", "--param", "stage2_learning_rate=0.003", *train,
                 "--output-root", str(tmp_path / "out")])
    assert code == 0
    assert "# Per-domain entity_f1" in capsys.readouterr().out
    cards = [json.loads(p.read_text()) for p in (tmp_path / "out").rglob("nlpfactory.json")]
    students = [c for c in cards if c["kind"] == "tagger" and c["lineage"]["stage"] == "distill"]
    assert sorted(c["domains"][0] for c in students) == ["forum", "news"]
    assert sum(c["kind"] == "onnx_tagger" for c in cards) == 2
