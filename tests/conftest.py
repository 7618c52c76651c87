import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests/helpers.py
sys.path.insert(0, str(Path(__file__).parent / "pipelines"))  # tests/pipelines/fake_kfp.py

# Two cores: keep torch from oversubscribing them inside tests.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory):
    """An MLflow SQLite store migrated once (migrations take seconds), copied per test."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    path = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    SqlAlchemyStore(f"sqlite:///{path}", str(path.parent / "artifacts"))
    return path


@pytest.fixture(autouse=True)
def isolated_tracking(tmp_path_factory, monkeypatch):
    """Every test gets its own MLflow store path and its own resumable-training folder, outside
    its tmp_path; datahub downloads stay shared (NLPFACTORY_CACHE) so they happen once. The
    store is not created: library calls track nothing unless given a tracker."""
    own = tmp_path_factory.mktemp("tracking")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{own / 'mlflow.db'}")
    monkeypatch.setenv("NLPFACTORY_CHECKPOINTS", str(own / "checkpoints"))
    # model="auto" must not pick up a backbone built on this machine: tests run on presets.
    monkeypatch.setenv("NLPFACTORY_BACKBONES", str(own / "backbones"))
    yield own / "mlflow.db"


@pytest.fixture
def mlflow_store(isolated_tracking, mlflow_template):
    """Opt in where a test tracks to MLflow: the test's store, its tables already made (a fresh
    store spends seconds migrating)."""
    shutil.copy(mlflow_template, isolated_tracking)
    return isolated_tracking


@pytest.fixture
def tiny_dataset(tmp_path):
    from helpers import write_tiny_dataset

    return write_tiny_dataset(tmp_path / "data", n=120)
