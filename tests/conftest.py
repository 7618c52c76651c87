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


# xdist (--dist loadfile) hands files out in the order of the collection, so a long file that
# comes late runs alone at the end while the other worker idles. xdist's own reordering (most
# tests first) put the single-test docker run near the end; it is turned off in the Makefile
# (--no-loadscope-reorder) and done here instead: the longest files first (seconds measured by
# `--durations`), then the rest with the most tests first, as xdist would.
LONGEST_FIRST = [
    "tests/docker/test_docker_runner.py",
    "tests/lib/test_pytorchjob.py",
    "tests/pipelines/studio/test_studio_api.py",
    "tests/lib/test_distributed.py",
    "tests/lib/data/test_pretrain_corpus.py",
    "tests/docker/test_image_install.py",
    "tests/pipelines/test_finetune_pipeline.py",
    "tests/components/test_serving_components.py",
    "tests/lib/serving/test_pyfunc_fresh_venv.py",
    "tests/pipelines/test_warm_start.py",
    "tests/lib/test_tracking.py",
    # the fast suite's longest files with few tests, which "most tests first" would leave last
    "tests/lib/test_reproducible_training.py",
    "tests/lib/ner/test_ner_metakd.py",
    "tests/lib/ner/test_ner_learns_rare_entities.py",
]


@pytest.hookimpl(trylast=True)  # after -m has deselected: count what runs
def pytest_collection_modifyitems(config, items):
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    files = [item.nodeid.partition("::")[0] for item in items]
    count = {path: files.count(path) for path in set(files)}
    order = {id(item): (rank.get(path, len(rank)), -count[path]) for item, path in zip(items, files)}
    items.sort(key=lambda item: order[id(item)])
