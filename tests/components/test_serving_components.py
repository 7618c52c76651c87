"""The export and predict components under kfp's local runner: a tiny pipeline imports a
Model folder and a Dataset, exports (and registers) the model, then labels the dev split."""

import pandas as pd
import pytest

pytestmark = pytest.mark.usefixtures("mlflow_store")  # these tests track to MLflow


def write_untrained_classifier(path, texts):
    from nlpfactory.models.card import write_card
    from nlpfactory.models.load import load_model, save_model

    model, tokenizer, _ = load_model("tiny", num_labels=2, texts=texts, vocab_size=300)
    save_model(model, tokenizer, path)
    write_card(path, {"task": "classification", "kind": "classifier", "labels": ["negative", "positive"],
                      "max_length": 32, "text_columns": ["text"]})
    return path


@pytest.mark.slow
def test_export_then_predict_run_as_pipeline_tasks(tmp_path, monkeypatch):
    from helpers import sentiment_frame, write_tiny_dataset
    from kfp import dsl, local
    from mlflow.tracking import MlflowClient

    from nlpfactory.components.export import export
    from nlpfactory.components.predict import predict
    from nlpfactory.models.card import read_card
    from nlpfactory.tracking import tracking_uri

    monkeypatch.chdir(tmp_path)  # MLflow's SQLite store keeps artifacts under ./mlruns
    model_dir = write_untrained_classifier(tmp_path / "model", sentiment_frame(80)["text"].tolist())
    dataset_dir = write_tiny_dataset(tmp_path / "data", n=60)

    @dsl.pipeline(name="serving-components")
    def serving_components():
        model = dsl.importer(artifact_uri=str(model_dir), artifact_class=dsl.Model)
        data = dsl.importer(artifact_uri=str(dataset_dir), artifact_class=dsl.Dataset)
        exported = export(model=model.output, dataset=data.output, max_int8_accuracy_drop=100.0,
                          register_name="component-test")
        predict(model=exported.outputs["exported_model"], data=data.output, split="dev")

    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / "root"))
    serving_components()

    exports = [p.parent for p in (tmp_path / "root").rglob("model.int8.onnx")]
    assert len(exports) == 1
    card = read_card(exports[0])
    assert card["kind"] == "onnx_classifier" and "dev_accuracy_int8" in card["export"]["checks"]
    assert card["export"]["registered"]["uri"] == "models:/component-test@candidate"
    assert str(MlflowClient(tracking_uri()).get_model_version_by_alias("component-test", "candidate").version) == "1"

    outputs = list((tmp_path / "root").rglob("predictions.parquet"))
    assert len(outputs) == 1
    frame = pd.read_parquet(outputs[0])
    assert len(frame) == 9 and {"text", "label", "prediction", "probabilities"} <= set(frame.columns)
