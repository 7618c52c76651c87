"""Every component's body is `run_component`: it turns KFP artifacts into the stage's inputs
and records the StageResult into the component's outputs. Held here on a real component's
function with real KFP artifact objects, no runner needed."""

import json

from kfp import dsl

from nlpfactory.pipelines.compile import components


def _metrics(tmp_path, name, values):
    artifact = dsl.Metrics(name=name, uri=str(tmp_path / name), metadata=dict(values))
    return artifact


def test_domain_table_reads_collected_metrics_and_records_report_and_numbers(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # unreachable: tracking must not matter
    teacher = [_metrics(tmp_path, f"t{i}", {"accuracy": a}) for i, a in enumerate([0.9, 0.8])]
    student = [_metrics(tmp_path, f"s{i}", {"accuracy": a}) for i, a in enumerate([0.81, 0.8])]
    report = dsl.Markdown(name="report", uri=str(tmp_path / "report.md"))
    metrics = dsl.Metrics(name="metrics", uri=str(tmp_path / "metrics"))
    components()["domain-table"].python_func(
        teacher_metrics=teacher, student_metrics=student, report=report, metrics=metrics,
        domains=["hotel", "book"], metric="accuracy")
    text = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "| hotel |" in text and "| book |" in text
    assert metrics.metadata["teacher_hotel"] == 0.9 and metrics.metadata["student_book"] == 0.8
    assert round(metrics.metadata["retained_percent_hotel"], 1) == 90.0
    json.dumps(metrics.metadata)  # KFP writes it as JSON


def test_domain_table_of_tagger_students_shows_their_entity_f1(tmp_path, monkeypatch):
    """What MetaKD's table gets from tagger evaluations (entity F1, no accuracy), with the
    component's own default metric, as the metakd pipeline leaves it."""
    from task_body import run_task

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # unreachable: tracking must not matter
    teacher = [{"entity_f1": 0.8, "token_accuracy": 0.97}, {"entity_f1": 0.6, "token_accuracy": 0.95}]
    student = [{"entity_f1": 0.72, "token_accuracy": 0.96}, {"entity_f1": 0.6, "token_accuracy": 0.95}]
    _, made = run_task("domain_table", tmp_path, {}, teacher_metrics=[_metrics(tmp_path, f"t{i}", m) for i, m in enumerate(teacher)],
                       student_metrics=[_metrics(tmp_path, f"s{i}", m) for i, m in enumerate(student)],
                       domains=["news", "forum"])
    assert (tmp_path / "report").read_text(encoding="utf-8").startswith("# Per-domain entity_f1")
    assert round(made["metrics"].metadata["retained_percent_news"], 1) == 90.0
