"""The distill and metakd pipelines: they compile, and metakd runs end to end under kfp's
local runner on tiny two-domain data, leaving per-domain students, a per-domain table and
one MLflow child run per task."""

import json

import pytest
from kfp import compiler

from nlpfactory.pipelines import registry
from nlpfactory.pipelines.cli import main


@pytest.mark.parametrize("name", ["distill", "metakd"])
def test_pipeline_compiles(tmp_path, name):
    path = tmp_path / f"{name}.yaml"
    compiler.Compiler().compile(registry.get(name), str(path))
    text = path.read_text()
    assert "comp-distill" in text
    if name == "metakd":
        assert "parameterIterator" in text and "comp-domain-table" in text


def _tiny_tsv(tmp_path):
    from helpers import sentiment_frame

    path = tmp_path / "reviews.tsv"
    sentiment_frame(120, domains=True).to_csv(path, sep="\t", index=False)
    return path


def _runs(experiment):
    from mlflow.tracking import MlflowClient

    from nlpfactory.tracking import TAG_PARENT, tracking_uri

    client = MlflowClient(tracking_uri())
    runs = client.search_runs([client.get_experiment_by_name(experiment).experiment_id])
    parents = [r for r in runs if r.data.tags.get(TAG_PARENT) == "true"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId")]
    return client, parents, children


@pytest.mark.slow
def test_metakd_pipeline_runs_locally_with_one_student_per_domain(tmp_path, monkeypatch):
    from transformers import AutoModelForSequenceClassification

    from nlpfactory.tracking import TAG_TASK

    data = _tiny_tsv(tmp_path)
    monkeypatch.chdir(tmp_path)
    params = {"data_source": data, "domain_col": "domain", "domains": '["hotel","book"]', "teacher": "tiny",
              "teacher_epochs": 1, "teacher_learning_rate": 0.002, "stage1_epochs": 1, "stage2_epochs": 1,
              "stage1_learning_rate": 0.002, "stage2_learning_rate": 0.002, "batch_size": 16, "max_length": 32}
    argv = ["run", "metakd", "--local", "--output-root", str(tmp_path / "out")]
    for key, value in params.items():
        argv += ["--param", f"{key}={value}"]
    assert main(argv) == 0

    cards = {p.parent: json.loads(p.read_text()) for p in (tmp_path / "out").rglob("nlpfactory.json")}
    students = {c["domains"][0]: d for d, c in cards.items() if c["kind"] == "classifier"}
    assert set(students) == {"hotel", "book"}
    assert sum(c["kind"] == "metakd_teacher" for c in cards.values()) == 1
    for folder in students.values():
        AutoModelForSequenceClassification.from_pretrained(folder)
    assert len(list((tmp_path / "out").rglob("model.int8.onnx"))) == 2  # each domain student exported
    tables = [p for p in (tmp_path / "out").rglob("report") if p.is_file() and "Per-domain" in p.read_text()]
    assert len(tables) == 1
    table = tables[0].read_text()
    assert "| hotel |" in table and "| book |" in table and "average" in table

    client, parents, children = _runs("metakd")
    assert len(parents) == 1
    tasks = [r.data.tags[TAG_TASK] for r in children]
    assert {"prepare_data", "meta_teacher", "distill hotel", "distill book", "domain_table"} <= set(tasks)
    assert {"evaluate teacher hotel", "evaluate teacher book", "evaluate student hotel", "evaluate student book"} <= set(tasks)
    distill_hotel = next(r for r in children if r.data.tags[TAG_TASK] == "distill hotel")
    assert distill_hotel.data.params["method"] == "metakd"
    assert "stage1_train_loss" in distill_hotel.data.metrics and "stage2_train_loss" in distill_hotel.data.metrics
    table_run = next(r for r in children if r.data.tags[TAG_TASK] == "domain_table")
    assert {"teacher_hotel", "student_book", "average_retained_percent"} <= set(table_run.data.metrics)
    assert "report.md" in {a.path for a in client.list_artifacts(table_run.info.run_id)}


@pytest.mark.slow
def test_distill_pipeline_compares_teacher_and_student(tmp_path, monkeypatch):
    from nlpfactory.tracking import TAG_TASK

    data = _tiny_tsv(tmp_path)
    monkeypatch.chdir(tmp_path)
    params = {"data_source": data, "teacher": "small", "teacher_epochs": 1, "teacher_learning_rate": 0.001,
              "student": "tiny", "epochs": 1, "learning_rate": 0.002, "batch_size": 16, "max_length": 32}
    argv = ["run", "distill", "--local", "--output-root", str(tmp_path / "out")]
    for key, value in params.items():
        argv += ["--param", f"{key}={value}"]
    assert main(argv) == 0

    assert len(list((tmp_path / "out").rglob("model.int8.onnx"))) == 1  # the student, exported
    reports = [p.read_text() for p in (tmp_path / "out").rglob("report") if p.is_file()]
    comparison = next(r for r in reports if r.startswith("# Teacher and student"))
    assert "| teacher |" in comparison and "| student |" in comparison and "faster" in comparison
    client, parents, children = _runs("distill")
    assert len(parents) == 1
    by_task = {r.data.tags[TAG_TASK]: r for r in children}
    assert {"prepare_data", "finetune", "distill", "evaluate teacher", "evaluate student", "compare"} <= set(by_task)
    compare_metrics = by_task["compare"].data.metrics
    assert compare_metrics["parameter_ratio"] < 1 and compare_metrics["student_latency_ms"] > 0
