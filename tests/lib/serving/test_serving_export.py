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

pytestmark = pytest.mark.usefixtures("mlflow_store")  # these tests track to MLflow


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
    for name in ("model.onnx", "model.int8.onnx", "tokenizer.json", "nlpfactory.json", "inferenceservice.yaml"):
        assert (export_dir / name).is_file(), name
    card = read_card(export_dir)
    assert card["kind"] == "onnx_classifier" and card["labels"] == LABELS
    assert card["export"]["from"]["kind"] == "classifier"
    assert {"dev_accuracy_fp32", "dev_accuracy_int8", "int8_accuracy_drop"} <= card["export"]["checks"].keys()
    # The tokenizer knows the model's real limit (not 1e30), so truncation=True cuts long texts.
    assert json.loads((export_dir / "tokenizer_config.json").read_text())["model_max_length"] == 512


def test_default_manifest_runs_our_image_as_a_kserve_custom_predictor(built):
    from nlpfactory.image import IMAGE

    text = (built[1] / "inferenceservice.yaml").read_text()
    service = yaml.safe_load(text)
    assert service["kind"] == "InferenceService" and service["metadata"]["name"] == "export"
    [container] = service["spec"]["predictor"]["containers"]
    assert container["name"] == "kserve-container" and container["image"] == IMAGE
    assert container["command"] == ["nlpfactory"]
    assert container["args"][:2] == ["serve", "/mnt/models"] and container["args"][-2:] == ["--model-name", "export"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    # Exported outside a cluster: the location is unknown, said plainly.
    assert container["env"] == [{"name": "STORAGE_URI", "value": "s3://CHANGE-ME/export"}]
    assert "placeholder" in text


def test_huggingface_manifest_points_at_the_pytorch_weights_with_label_names(built, tmp_path):
    model_dir, _, _ = built
    cfg = ExportConfig(verify=False, quantize=False, kserve_runtime="huggingface", storage_uri="gs://b/m")
    export(cfg, model_dir, tmp_path / "hf")
    model = yaml.safe_load((tmp_path / "hf/inferenceservice.yaml").read_text())["spec"]["predictor"]["model"]
    assert model["modelFormat"]["name"] == "huggingface" and model["storageUri"] == "gs://b/m/huggingface"
    assert (tmp_path / "hf/huggingface/model.safetensors").is_file()
    hf_config = json.loads((tmp_path / "hf/huggingface/config.json").read_text())
    assert hf_config["id2label"] == {"0": "negative", "1": "positive"}


def test_triton_manifest_and_its_model_repository_layout(built, tmp_path):
    model_dir, _, _ = built
    export(ExportConfig(verify=False, kserve_runtime="triton", storage_uri="s3://models/sentiment"),
           model_dir, tmp_path / "sentiment")
    service = yaml.safe_load((tmp_path / "sentiment/inferenceservice.yaml").read_text())
    model = service["spec"]["predictor"]["model"]
    assert model == {**model, "modelFormat": {"name": "onnx"}, "runtime": "kserve-tritonserver",
                     "protocolVersion": "v2", "storageUri": "s3://models/sentiment/triton"}
    repo = tmp_path / "sentiment/triton/sentiment"
    assert (repo / "1/model.onnx").read_bytes() == (tmp_path / "sentiment/model.int8.onnx").read_bytes()
    assert (repo / "labels.txt").read_text().split() == LABELS
    config = (repo / "config.pbtxt").read_text()
    assert 'name: "sentiment"' in config and 'backend: "onnxruntime"' in config
    assert 'name: "input_ids" data_type: TYPE_INT64' in config and "dims: [ -1, 2 ]" in config
    assert not (tmp_path / "sentiment/huggingface").exists()


def test_storage_uri_comes_from_the_artifact_uri_on_a_cluster():
    from nlpfactory.serving.kserve import storage_uri_of

    assert storage_uri_of("gs://bucket/root/run/export-1/exported_model") == "gs://bucket/root/run/export-1/exported_model"
    assert storage_uri_of("minio://mlpipeline/v2/artifacts/x/exported_model") == "s3://mlpipeline/v2/artifacts/x/exported_model"
    assert storage_uri_of("s3://b/x/") == "s3://b/x"
    assert storage_uri_of("/tmp/root/exported_model") == ""  # a local run: placeholder


def test_per_domain_students_get_distinct_service_names(built, tmp_path):
    from nlpfactory.serving.kserve import service_name

    names = {service_name("exported_model", domain=d) for d in ("hotel", "酒店", "书籍", "Hotel")}
    assert len(names) == 4 and all(len(n) <= 63 and n[0].isalpha() for n in names)
    assert service_name("exported_model", domain="hotel") == "exported-model-hotel"
    model_dir, _, _ = built
    card = read_card(model_dir)
    write_card(model_dir, {**card, "distillation": {"domain": "酒店"}})
    try:
        export(ExportConfig(verify=False, quantize=False), model_dir, tmp_path / "exported_model")
    finally:
        write_card(model_dir, card)
    service = yaml.safe_load((tmp_path / "exported_model/inferenceservice.yaml").read_text())
    assert service["metadata"]["name"] == service_name("exported_model", domain="酒店")


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
                 "--register-name", "cli-model", "--alias", "champion", "--kserve-runtime", "triton"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "registered as models:/cli-model@champion" in printed and "onnx_max_abs_diff" in printed
    assert read_card(tmp_path / "cli-export")["export"]["kserve_runtime"] == "triton"


def test_registering_into_an_s3_store_without_boto3_fails_clearly_and_keeps_nothing(built, tmp_path, capsys):
    import importlib.util

    from mlflow.tracking import MlflowClient

    from nlpfactory.cli import main
    from nlpfactory.tracking import tracking_uri

    if importlib.util.find_spec("boto3") is not None:
        pytest.skip("boto3 is installed here; the missing-client error cannot happen")
    MlflowClient(tracking_uri()).create_experiment("nlpfactory-export", artifact_location="s3://no-bucket/mlflow")
    code = main(["export", "--model", str(built[0]), "--output", str(tmp_path / "out"), "--verify", "false",
                 "--quantize", "false", "--register-name", "s3-model"])
    assert code == 1
    err = capsys.readouterr().err
    assert "s3://no-bucket/mlflow" in err and "pip install 'nlpfactory[s3]'" in err
    assert not (tmp_path / "out").exists()


def test_a_registry_failure_fails_the_export(built, tmp_path, monkeypatch):
    import nlpfactory.serving.registry as registry
    from nlpfactory.serving.registry import RegistrationError

    def refuse(*args, **kwargs):  # what MLflow's client raises when its server is gone
        raise ConnectionError("connection refused")

    monkeypatch.setattr(registry, "register_export", refuse)
    with pytest.raises(RegistrationError, match="could not register 'down'.*connection refused"):
        export(ExportConfig(verify=False, quantize=False, register_name="down"), built[0], tmp_path / "out")
    assert not (tmp_path / "out").exists()
