import json

import pytest
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from nlpfactory.evaluate import EvaluateConfig, evaluate
from nlpfactory.finetune import FinetuneConfig, finetune
from nlpfactory.models.card import read_card

pytestmark = pytest.mark.usefixtures("mlflow_store")  # these tests track to MLflow

TINY = dict(model="tiny", epochs=4, batch_size=16, learning_rate=2e-3, vocab_size=300, max_length=32)


@pytest.fixture
def trained(tiny_dataset, tmp_path):
    from nlpfactory.tracking import MlflowTracker

    result = finetune(FinetuneConfig(**TINY), tiny_dataset, tmp_path / "model", tracker=MlflowTracker())
    return result


def test_finetuned_model_learns_and_loads_with_plain_transformers(trained, tiny_dataset):
    assert trained.dev_metrics["accuracy"] >= 0.9  # the tiny data is easy; chance is 0.5
    model = AutoModelForSequenceClassification.from_pretrained(trained.model_dir)
    tokenizer = AutoTokenizer.from_pretrained(trained.model_dir)
    assert model.config.id2label == {0: "negative", 1: "positive"}
    logits = model(**tokenizer(["房间很好，满意"], return_tensors="pt")).logits
    assert logits.shape == (1, 2)
    card = read_card(trained.model_dir)
    assert card["kind"] == "classifier" and card["labels"] == ["negative", "positive"]
    assert card["parameters"] == sum(p.numel() for p in model.parameters())
    assert list(trained.model_dir.glob("*.safetensors")) and not list(trained.model_dir.glob("*.bin"))


def test_evaluate_reports_overall_per_class_and_per_domain(tmp_path):
    from helpers import write_tiny_dataset

    data = write_tiny_dataset(tmp_path / "data", n=160, domains=True)
    finetune(FinetuneConfig(**TINY), data, tmp_path / "model")
    result = evaluate(EvaluateConfig(model_name="teacher"), tmp_path / "model", data)
    scalars = result.scalars()
    assert scalars["accuracy"] >= 0.8
    assert {"accuracy_hotel", "accuracy_book", "f1_positive", "macro_f1"} <= set(scalars)
    assert sum(sum(row) for row in result.metrics["confusion_matrix"]) == result.metrics["examples"]
    assert "| hotel |" in result.report and "teacher" in result.report
    assert "largest class would score 0.5000" in result.report  # the balanced test data


def test_a_failed_finetune_leaves_no_model_folder(tiny_dataset, tmp_path):
    with pytest.raises(Exception, match="not-a-model"):
        finetune(FinetuneConfig(**{**TINY, "model": "./not-a-model"}), tiny_dataset, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_finetune_logs_to_mlflow(trained, tmp_path):
    from mlflow.tracking import MlflowClient

    from nlpfactory.tracking import tracking_uri

    client = MlflowClient(tracking_uri())
    experiment = client.get_experiment_by_name("nlpfactory-finetune")
    run = client.search_runs([experiment.experiment_id])[0]
    assert run.info.status == "FINISHED"
    assert run.data.params["model"] == "tiny" and run.data.params["epochs"] == "4"
    history = client.get_metric_history(run.info.run_id, "train_loss")
    assert len(history) > 5  # per-step, not just a final number
    assert json.loads(json.dumps(run.data.metrics))["final_dev_accuracy"] >= 0.9
