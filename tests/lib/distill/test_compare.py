"""The compare stage: how much of the teacher a student keeps, from two Model folders."""

from helpers import sentiment_frame, write_tiny_dataset

from nlpfactory import stages
from nlpfactory.models.card import write_card
from nlpfactory.models.load import load_model, save_model


def _untrained(path, preset, texts):
    model, tokenizer, _ = load_model(preset, num_labels=2, texts=texts, vocab_size=300)
    save_model(model, tokenizer, path)
    parameters = sum(p.numel() for p in model.parameters())
    write_card(path, {"task": "classification", "kind": "classifier", "labels": ["negative", "positive"],
                      "max_length": 32, "text_columns": ["text"], "parameters": parameters})
    return parameters


def test_compare_reports_the_share_of_accuracy_parameters_and_size_the_student_keeps(tmp_path):
    texts = sentiment_frame(60)["text"].tolist()
    teacher_params = _untrained(tmp_path / "teacher", "small", texts)
    student_params = _untrained(tmp_path / "student", "tiny", texts)
    data = write_tiny_dataset(tmp_path / "data", n=60)
    stage = stages.get("compare")
    result = stages.execute("compare", stage.Config(latency_samples=5),
                            {"teacher": str(tmp_path / "teacher"), "student": str(tmp_path / "student"),
                             "dataset": str(data), "teacher_metrics": {"accuracy": 0.9},
                             "student_metrics": {"accuracy": 0.81}}, {})
    m = result.metrics
    assert m["teacher_parameters"] == teacher_params and m["student_parameters"] == student_params
    assert m["parameter_ratio"] == student_params / teacher_params < 1
    assert round(m["retained_accuracy_percent"], 6) == 90.0
    assert m["size_ratio"] == m["student_size_mb"] / m["teacher_size_mb"] < 1
    assert "| teacher | 0.9000 |" in result.report and "| student | 0.8100 |" in result.report
    assert "**90.0%**" in result.report


def test_the_per_domain_table_shows_entity_f1_for_taggers_and_names_a_missing_score():
    import pytest

    from nlpfactory.distill.compare import domain_table
    from nlpfactory.errors import InputError
    from nlpfactory.stages.domain_table import DomainTableConfig

    teacher = [{"entity_f1": 0.8, "token_accuracy": 0.97}, {"entity_f1": 0.6, "token_accuracy": 0.95}]
    student = [{"entity_f1": 0.76, "token_accuracy": 0.96}, {"entity_f1": 0.6, "token_accuracy": 0.95}]
    result, report = domain_table(DomainTableConfig(domains=["news", "forum"]), ["news", "forum"], teacher, student)
    assert report.startswith("# Per-domain entity_f1")
    assert result["domains"]["news"]["retained_percent"] == pytest.approx(95.0)
    classifier = [{"accuracy": 0.9, "macro_f1": 0.8}]
    assert domain_table(DomainTableConfig(domains=["hotel"]), ["hotel"], classifier, classifier)[0]["flat"][
        "teacher_hotel"] == 0.9
    with pytest.raises(InputError, match="have no 'accuracy'"):
        domain_table(DomainTableConfig(domains=["news"], metric="accuracy"), ["news"], teacher[:1], student[:1])
