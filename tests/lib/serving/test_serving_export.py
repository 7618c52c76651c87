"""Export: ONNX parity with PyTorch, int8, the card and manifest, the checks that fail it,
and the MLflow registry entry."""

import json

import numpy as np
import pytest
import yaml
from conftest import LABELS, write_tiny_classifier

from nlpfactory.errors import InputError
from nlpfactory.models.card import read_card, write_card
from nlpfactory.predictor import ClassifierPredictor, load_predictor
from nlpfactory.serving.export import ExportCheckError, ExportConfig, export
from nlpfactory.serving.onnx_predictor import OnnxPredictor


def test_onnx_logits_match_pytorch_on_a_tiny_preset(built, texts):
    model_dir, export_dir, _ = built
    checks = read_card(export_dir)["export"]["checks"]
    assert checks["onnx_max_abs_diff"] <= 1e-4
    # End to end through both tokenizers: the served path must see the same token ids.
    torch_logits = ClassifierPredictor(model_dir, read_card(model_dir), device="cpu").logits(texts)
    onnx_logits = OnnxPredictor(export_dir, read_card(export_dir), precision="fp32").logits(texts)
    assert np.abs(torch_logits - onnx_logits).max() <= 1e-4
    assert len(set(torch_logits.argmax(axis=1))) == 2, "the test model should predict both labels"


def test_onnx_handles_pairs_and_batch_sizes_unlike_the_trace(built, texts):
    model_dir, export_dir, _ = built
    torch_model = ClassifierPredictor(model_dir, read_card(model_dir), device="cpu")
    onnx_model = OnnxPredictor(export_dir, read_card(export_dir), precision="fp32", batch_size=7)
    for a, b in [(texts[:1], None), (texts[:13], texts[13:26])]:
        assert np.abs(torch_model.logits(a, b) - onnx_model.logits(a, b)).max() <= 1e-4


def test_int8_export_loads_and_predicts(built, texts):
    _, export_dir, _ = built
    predictor = load_predictor(export_dir)  # the export's card routes to the ONNX predictor
    assert isinstance(predictor, OnnxPredictor) and predictor.path.name == "model.int8.onnx"
    probs = predictor.predict_proba(texts)
    assert probs.shape == (len(texts), 2) and np.allclose(probs.sum(axis=1), 1, atol=1e-5)
    assert set(predictor.predict(texts)) <= set(LABELS)
    fp32 = OnnxPredictor(export_dir, read_card(export_dir), precision="fp32").predict(texts)
    agree = np.mean(np.asarray(predictor.predict(texts)) == np.asarray(fp32))
    assert agree >= 0.9
    assert (export_dir / "model.int8.onnx").stat().st_size < (export_dir / "model.onnx").stat().st_size / 2


def test_export_folder_holds_model_tokenizer_card_and_kserve_manifest(built):
    _, export_dir, _ = built
    for name in ("model.onnx", "model.int8.onnx", "tokenizer.json", "nlpfactory.json",
                 "inferenceservice.yaml", "huggingface/model.safetensors", "huggingface/config.json"):
        assert (export_dir / name).is_file(), name
    card = read_card(export_dir)
    assert card["kind"] == "onnx_classifier" and card["labels"] == LABELS
    assert card["export"]["from"]["kind"] == "classifier"
    assert {"dev_accuracy_fp32", "dev_accuracy_int8", "int8_accuracy_drop"} <= card["export"]["checks"].keys()
    service = yaml.safe_load((export_dir / "inferenceservice.yaml").read_text())
    assert service["kind"] == "InferenceService"
    model = service["spec"]["predictor"]["model"]
    assert model["modelFormat"]["name"] == "huggingface" and model["storageUri"].endswith("/huggingface")
    hf_config = json.loads((export_dir / "huggingface/config.json").read_text())
    assert hf_config["id2label"] == {"0": "negative", "1": "positive"}


def test_onnx_runtime_manifest_points_at_the_export_folder(built, tmp_path):
    model_dir, _, _ = built
    cfg = ExportConfig(verify=False, quantize=False, kserve_runtime="onnx", storage_uri="s3://models/sentiment")
    export(cfg, model_dir, tmp_path / "onnx-export")
    service = yaml.safe_load((tmp_path / "onnx-export/inferenceservice.yaml").read_text())
    model = service["spec"]["predictor"]["model"]
    assert model == {**model, "modelFormat": {"name": "onnx"}, "protocolVersion": "v2",
                     "storageUri": "s3://models/sentiment"}
    assert not (tmp_path / "onnx-export/huggingface").exists()


def test_export_refuses_a_few_shot_model_and_suggests_distilling(tmp_path):
    model_dir = write_tiny_classifier(tmp_path / "pet", kind="pet")
    with pytest.raises(InputError, match="export supports sequence-classification") as err:
        export(ExportConfig(), model_dir, tmp_path / "out")
    assert "distill" in str(err.value)
    assert not (tmp_path / "out").exists()


def test_logit_difference_over_tolerance_fails_with_the_numbers_and_writes_nothing(built, tmp_path):
    model_dir, _, _ = built
    with pytest.raises(ExportCheckError, match=r"differ from PyTorch by up to .*allowed: 1e-12"):
        export(ExportConfig(tolerance=1e-12, quantize=False), model_dir, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not list(tmp_path.glob(".out.partial-*"))


def test_int8_accuracy_drop_over_the_limit_fails_with_the_numbers(built, tmp_path):
    model_dir, _, dataset_dir = built
    # A negative limit demands that int8 beat fp32, so the check must fail and say by how much.
    with pytest.raises(ExportCheckError, match=r"int8 accuracy on the dev split .* points \(allowed: -5\)"):
        export(ExportConfig(max_int8_accuracy_drop=-5.0), model_dir, tmp_path / "out", dataset_dir)
    assert not (tmp_path / "out").exists()


def test_registered_pyfunc_loads_by_alias_and_predicts_the_export_labels(built, tmp_path, texts):
    import mlflow
    import pandas as pd
    from mlflow.tracking import MlflowClient

    model_dir, _, _ = built
    result = export(ExportConfig(register_name="tiny-sentiment"), model_dir, tmp_path / "export")
    assert result.registered_uri == "models:/tiny-sentiment@candidate"
    card = read_card(tmp_path / "export")
    assert card["export"]["registered"]["version"] == "1"
    version = MlflowClient().get_model_version_by_alias("tiny-sentiment", "candidate")
    assert str(version.version) == "1"

    pyfunc = mlflow.pyfunc.load_model(result.registered_uri)
    out = pyfunc.predict(pd.DataFrame({"text": texts}))
    expected = load_predictor(tmp_path / "export").predict(texts)
    assert out["label"].tolist() == expected
    assert np.allclose([sum(p) for p in out["probabilities"]], 1, atol=1e-5)


def test_exporting_again_moves_the_alias_to_the_new_version(built, tmp_path):
    from mlflow.tracking import MlflowClient

    model_dir, _, _ = built
    cfg = ExportConfig(register_name="tiny-sentiment", verify=False, quantize=False)
    export(cfg, model_dir, tmp_path / "a")
    export(cfg, model_dir, tmp_path / "b")
    assert str(MlflowClient().get_model_version_by_alias("tiny-sentiment", "candidate").version) == "2"


def test_exporting_an_export_is_refused(built, tmp_path):
    _, export_dir, _ = built
    card = read_card(export_dir)
    write_card(tmp_path, card)
    with pytest.raises(InputError, match="already an export"):
        export(ExportConfig(), tmp_path, tmp_path / "out")


def test_cli_exports_and_registers(built, tmp_path, capsys):
    from nlpfactory.cli import main

    model_dir, _, dataset_dir = built
    code = main(["export", "--model", str(model_dir), "--output", str(tmp_path / "cli-export"),
                 "--dataset", str(dataset_dir), "--max-int8-accuracy-drop", "100",
                 "--register-name", "cli-model", "--alias", "champion", "--kserve-runtime", "onnx"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "registered as models:/cli-model@champion" in printed and "onnx_max_abs_diff" in printed
    assert read_card(tmp_path / "cli-export")["export"]["kserve_runtime"] == "onnx"
