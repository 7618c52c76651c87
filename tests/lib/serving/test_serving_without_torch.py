"""`pip install nlpfactory[serving]` serves an export folder: the server runs and answers with
every package that only the `full` extra brings made unimportable (torch first of all)."""

import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import tomllib
from server_helpers import BLOCKER, MAX_BATCH, free_port, start_server

ROOT = Path(__file__).resolve().parents[3]
# Distributions whose import name is not their name with dashes as underscores.
IMPORT_NAMES = {"kfp-kubernetes": "kfp", "kubeflow-training": "kubeflow"}


def _names(requirements) -> set[str]:
    return {r.split("[")[0].split(">")[0].split("=")[0].split("<")[0].strip() for r in requirements}


def full_only_packages() -> set[str]:
    """Import names of what `full` adds to a serving install."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    serving = _names(project["dependencies"]) | _names(extras["serving"])
    added = _names(extras["full"]) - serving - {"nlpfactory"}
    return {IMPORT_NAMES.get(d, d.replace("-", "_")) for d in added}


def test_a_serving_install_leaves_out_torch_and_the_training_stack():
    assert {"torch", "transformers", "pandas", "kfp", "mlflow"} <= full_only_packages()


def test_serve_answers_without_torch_as_the_full_install_does(built, texts, tmp_path):
    from nlpfactory.models.card import read_card
    from nlpfactory.serving.onnx_predictor import OnnxPredictor

    export_dir = built[1]
    process, url = start_server(export_dir, free_port(), tmp_path / "server.log", absent=full_only_packages())
    try:
        answer = httpx.post(f"{url}/v1/predict", json={"texts": texts[:MAX_BATCH]}, timeout=30).json()["predictions"]
    finally:
        process.terminate()
        process.wait(timeout=30)

    expected = OnnxPredictor(export_dir, read_card(export_dir)).predict_proba(texts[:MAX_BATCH])
    labels = read_card(export_dir)["labels"]
    assert [a["label"] for a in answer] == [labels[i] for i in expected.argmax(axis=1)]
    got = np.array([[a["probabilities"][name] for name in labels] for a in answer])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert "No module named" not in (tmp_path / "server.log").read_text()


def test_a_command_that_needs_the_full_install_says_how_to_get_it(built, tmp_path):
    (tmp_path / "in.tsv").write_text("text\n很好\n", encoding="utf-8")
    code = (
        BLOCKER.format(blocked=full_only_packages())
        + "import sys; from nlpfactory.pipelines.cli import main; sys.exit(main(sys.argv[1:]))"
    )

    result = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "predict",
            "--model",
            str(built[1]),
            "--input",
            str(tmp_path / "in.tsv"),
            "--output",
            str(tmp_path / "out.tsv"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 1
    assert "fix: pip install 'nlpfactory[full]'" in result.stderr
    assert "Traceback" not in result.stderr
