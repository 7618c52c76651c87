"""The registered pyfunc runs where nlpfactory is not installed: its code travels in the model
(code_paths), its requirements name only packages on PyPI, and it takes a plain list of
strings or a one-column DataFrame."""

import json
import os
import site
import subprocess
import venv

import pandas as pd
import pytest
import yaml

from nlpfactory.predictor import load_predictor
from nlpfactory.serving.export import ExportConfig, export

LONG_TEXT = ("这家酒店的服务很周到，房间干净，早餐丰富。" * 60)[:1000]

LOAD = """
import importlib.util, json, sys
import pandas as pd
assert importlib.util.find_spec("nlpfactory") is None, "nlpfactory is importable in the fresh venv"
import mlflow
model = mlflow.pyfunc.load_model(sys.argv[1])
texts = json.loads(sys.argv[2])
print(json.dumps({
    "list": model.predict(texts)["label"].tolist(),
    "column": model.predict(pd.DataFrame({"review": texts}))["label"].tolist(),
}, ensure_ascii=False))
"""


def fresh_venv(path):
    """A new virtualenv that sees this environment's third-party packages but not nlpfactory:
    a .pth line adds each site-packages folder to sys.path without running the .pth files
    inside it, so the editable install's import hook is not there."""
    venv.EnvBuilder(with_pip=False).create(path)
    [target] = list(path.glob("lib/python*/site-packages"))
    paths = [p for p in site.getsitepackages() if os.path.isdir(p)]
    (target / "outside.pth").write_text("\n".join(paths) + "\n")
    return path / "bin" / "python"


@pytest.mark.slow
@pytest.mark.usefixtures("mlflow_store")  # registers in MLflow: a store already migrated
def test_the_registered_model_loads_and_predicts_in_a_venv_without_nlpfactory(built, tmp_path, texts):
    model_dir, _, _ = built
    result = export(ExportConfig(verify=False, register_name="portable"), model_dir, tmp_path / "export")
    local = tmp_path / "downloaded"
    import mlflow

    mlflow.artifacts.download_artifacts(artifact_uri=result.registered_uri, dst_path=str(local))
    requirements = (local / "requirements.txt").read_text()
    assert "nlpfactory" not in requirements and "onnxruntime==" in requirements
    assert (local / "code/nlpfactory/serving/onnx_predictor.py").is_file()
    assert yaml.safe_load((local / "MLmodel").read_text())["signature"]["inputs"] == '[{"type": "string", "required": true}]'

    python = fresh_venv(tmp_path / "venv")
    batch = [*texts[:3], LONG_TEXT]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = subprocess.run([str(python), "-c", LOAD, result.registered_uri, json.dumps(batch, ensure_ascii=False)],
                         capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    expected = load_predictor(tmp_path / "export").predict(batch)
    assert out["list"] == expected and out["column"] == expected


def test_nlpfactory_is_not_importable_in_the_fresh_venv(tmp_path):
    python = fresh_venv(tmp_path / "venv")
    run = subprocess.run([str(python), "-c", "import mlflow, onnxruntime; import nlpfactory"],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path,
                         env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert run.returncode == 1 and "No module named 'nlpfactory'" in run.stderr


@pytest.mark.usefixtures("mlflow_store")  # registers in MLflow: a store already migrated
def test_a_plain_list_is_accepted_in_process(built, tmp_path, texts):
    import mlflow

    result = export(ExportConfig(verify=False, quantize=False, register_name="plain-list"), built[0], tmp_path / "e")
    model = mlflow.pyfunc.load_model(result.registered_uri)
    expected = load_predictor(tmp_path / "e").predict(texts[:4])
    assert model.predict(texts[:4])["label"].tolist() == expected
    assert model.predict(pd.DataFrame({"text": texts[:4]}))["label"].tolist() == expected
