"""The MLflow face of an export: a pyfunc model (texts in; label and probabilities out, or a
tagger's tags and entity spans),
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

import nlpfactory
from nlpfactory.errors import NlpFactoryError
from nlpfactory.tracking import tracking_uri

# What the pyfunc needs to run, in the order it prefers them.
ARTIFACT_FILES = ("tokenizer.json", "tokenizer_config.json", "nlpfactory.json")
# The pyfunc's requirements, pinned to the versions this export was checked with (nlpfactory
# itself is not on PyPI: the modules it needs travel as code_paths instead).
RUNTIME_PACKAGES = ("onnxruntime", "tokenizers", "numpy", "pandas")
# The nlpfactory modules pyfunc_model.py imports, bundled into the logged model.
CODE_MODULES = ("__init__.py", "errors.py", "predictor.py", "models/__init__.py", "models/card.py",
                "serving/__init__.py", "serving/onnx_predictor.py",
                "ner/__init__.py", "ner/predict.py", "ner/inference.py", "ner/align.py", "ner/tags.py")
# Artifact stores MLflow writes through a client library that is an optional extra here.
STORE_CLIENTS = {"s3": ("boto3", "s3"), "gs": ("google.cloud.storage", "gcs")}


class RegistrationError(NlpFactoryError):
    """The export could not be logged or registered in MLflow."""


def requirements() -> list[str]:
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in RUNTIME_PACKAGES]


def check_artifact_store(artifact_uri: str) -> None:
    """Fail before uploading when the run's artifact store needs a client that is missing."""
    import importlib.util

    scheme = artifact_uri.partition("://")[0] if "://" in artifact_uri else ""
    if scheme not in STORE_CLIENTS:
        return
    module, extra = STORE_CLIENTS[scheme]
    try:
        found = importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a missing parent package (google) raises instead
        found = False
    if not found:
        raise RegistrationError(
            f"MLflow stores this run's artifacts in {artifact_uri}, which needs {module}, and it is not installed.\n"
            f"  fix: pip install 'nlpfactory[{extra}]' (in the image and wherever you export)")


@dataclass
class Registered:
    name: str
    version: str
    alias: str
    run_id: str

    @property
    def uri(self) -> str:
        return f"models:/{self.name}@{self.alias}"


def _signature(pair: bool, tagger: bool = False):
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema
    from mlflow.types.schema import Array, Object, Property

    # One unnamed string column accepts a plain list of strings and a one-column DataFrame
    # under any column name; pairs need their two columns named.
    inputs = [ColSpec("string", "text"), ColSpec("string", "text_b")] if pair else [ColSpec("string")]
    if tagger:
        span = Object([Property("start", "long"), Property("end", "long"), Property("type", "string"),
                       Property("text", "string")])
        outputs = [ColSpec(Array("string"), "tags"), ColSpec(Array(span), "entities")]
    else:
        outputs = [ColSpec("string", "label"), ColSpec(Array("double"), "probabilities")]
    return ModelSignature(inputs=Schema(inputs), outputs=Schema(outputs))


def _example(pair: bool, tagger: bool = False) -> pd.DataFrame:
    example = {"text": ["王芳昨天到杭州开会" if tagger else "这家酒店的服务很周到"]}
    if pair:
        example["text_b"] = ["服务怎么样"]
    return pd.DataFrame(example)


def _stage_code(into: Path) -> Path:
    package = Path(nlpfactory.__file__).parent
    for module in CODE_MODULES:
        (into / "nlpfactory" / module).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(package / module, into / "nlpfactory" / module)
    return into / "nlpfactory"


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
                    run_id: str | None = None, pair: bool = False, tagger: bool = False) -> Registered:
    """Log the export as a pyfunc model in `run_id` (or a new run), register a version under
    `name` and point `alias` at it; a tagger's pyfunc answers tags and entity spans."""
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(tracking_uri())
    with tempfile.TemporaryDirectory(prefix="nlpfactory-pyfunc-") as tmp:
        artifact = _stage_artifact(Path(export_dir), Path(tmp) / "export")
        code = _stage_code(Path(tmp) / "code")
        with mlflow.start_run(run_id=run_id) if run_id else mlflow.start_run(run_name="export") as run:
            check_artifact_store(mlflow.get_artifact_uri())
            info = mlflow.pyfunc.log_model(
                name="model", python_model=str(Path(__file__).with_name("pyfunc_model.py")),
                artifacts={"export": str(artifact)}, code_paths=[str(code)], signature=_signature(pair, tagger),
                input_example=_example(pair, tagger), pip_requirements=requirements(),
                registered_model_name=name,
            )
            used_run = run.info.run_id
    version = str(info.registered_model_version)
    MlflowClient(tracking_uri()).set_registered_model_alias(name, alias, version)
    return Registered(name=name, version=version, alias=alias, run_id=used_run)
