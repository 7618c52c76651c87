import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests/helpers.py
sys.path.insert(0, str(Path(__file__).parent / "pipelines"))  # tests/pipelines/fake_kfp.py

# Two cores: keep torch from oversubscribing them inside tests.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(autouse=True)
def isolated_tracking(tmp_path, monkeypatch):
    """Every test gets its own MLflow store and checkpoint cache."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    cache = os.environ.get("NLPFACTORY_CACHE")
    # datahub downloads are shared across tests (and CI runs) so they happen once;
    # resumable training state is per test.
    monkeypatch.setenv("NLPFACTORY_CHECKPOINTS", str(tmp_path / "checkpoints"))
    if cache:
        monkeypatch.setenv("NLPFACTORY_CACHE", cache)
    yield


@pytest.fixture
def tiny_dataset(tmp_path):
    from helpers import write_tiny_dataset

    return write_tiny_dataset(tmp_path / "data", n=120)
