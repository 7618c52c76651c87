"""The MLflow face of an export: a pyfunc model (texts in, label and probabilities out),
registered under a name with an alias (the registry's aliases, not the deprecated stages).

The logged artifact is small on purpose: the int8 ONNX model, the tokenizer and the card,
run by onnxruntime; the PyTorch weights stay in the export folder.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd

from nlpfactory.tracking import tracking_uri

# What the pyfunc needs to run, in the order it prefers them.
ARTIFACT_FILES = ("tokenizer.json", "tokenizer_config.json", "nlpfactory.json")
REQUIREMENTS = ["nlpfactory", "onnxruntime", "tokenizers", "pandas", "numpy"]


class TextClassifierModel(mlflow.pyfunc.PythonModel):
    """Pyfunc over an export folder: a DataFrame with `text` (and `text_b` for pairs), or a
    list of strings, in; a DataFrame with `label` and `probabilities` (label-id order) out."""

    def load_context(self, context):
        from nlpfactory.models.card import read_card
        from nlpfactory.serving.onnx_predictor import OnnxPredictor

        folder = context.artifacts["export"]
        self.predictor = OnnxPredictor(folder, read_card(folder))

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        if isinstance(model_input, pd.DataFrame):
            frame = model_input
        elif isinstance(model_input, dict):
            frame = pd.DataFrame(model_input)
        else:
            frame = pd.DataFrame({"text": list(model_input)})
        texts_b = frame["text_b"].astype(str).tolist() if "text_b" in frame else None
        probs = self.predictor.predict_proba(frame["text"].astype(str).tolist(), texts_b)
        labels = self.predictor.labels
        return pd.DataFrame({"label": [labels[i] for i in probs.argmax(axis=1)],
                             "probabilities": [row.tolist() for row in probs]})


@dataclass
class Registered:
    name: str
    version: str
    alias: str
    run_id: str

    @property
    def uri(self) -> str:
        return f"models:/{self.name}@{self.alias}"


def _signature(pair: bool):
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema
    from mlflow.types.schema import Array

    inputs = [ColSpec("string", "text")] + ([ColSpec("string", "text_b")] if pair else [])
    outputs = [ColSpec("string", "label"), ColSpec(Array("double"), "probabilities")]
    return ModelSignature(inputs=Schema(inputs), outputs=Schema(outputs))


def _example(pair: bool) -> pd.DataFrame:
    example = {"text": ["这家酒店的服务很周到"]}
    if pair:
        example["text_b"] = ["服务怎么样"]
    return pd.DataFrame(example)


def _stage_artifact(export_dir: Path, into: Path) -> Path:
    from nlpfactory.serving.onnx_predictor import onnx_file

    into.mkdir()
    model = onnx_file(export_dir, "auto")
    shutil.copy2(model, into / model.name)
    for name in ARTIFACT_FILES:
        if (export_dir / name).is_file():
            shutil.copy2(export_dir / name, into / name)
    return into


def register_export(export_dir: str | Path, name: str, alias: str = "candidate",
                    run_id: str | None = None, pair: bool = False) -> Registered:
    """Log the export as a pyfunc model in `run_id` (or a new run), register a version under
    `name` and point `alias` at it."""
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(tracking_uri())
    with tempfile.TemporaryDirectory(prefix="nlpfactory-pyfunc-") as tmp:
        artifact = _stage_artifact(Path(export_dir), Path(tmp) / "export")
        with mlflow.start_run(run_id=run_id) if run_id else mlflow.start_run(run_name="export") as run:
            info = mlflow.pyfunc.log_model(
                name="model", python_model=str(Path(__file__).with_name("pyfunc_model.py")),
                artifacts={"export": str(artifact)}, signature=_signature(pair),
                input_example=_example(pair), pip_requirements=REQUIREMENTS,
                registered_model_name=name,
            )
            used_run = run.info.run_id
    version = str(info.registered_model_version)
    MlflowClient(tracking_uri()).set_registered_model_alias(name, alias, version)
    return Registered(name=name, version=version, alias=alias, run_id=used_run)
