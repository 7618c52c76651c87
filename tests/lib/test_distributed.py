"""torchrun data parallel: 2 CPU processes (gloo) at the same global batch train what 1 does,
resume from a kill, and in a stage only rank 0 writes the artifact and the MLflow run."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from nlpfactory.errors import InputError
from nlpfactory.train.distributed import launch

HERE = Path(__file__).parent
# Float sums in another order (a share's mean, then an all-reduce) differ in the last bits;
# after 21 AdamW steps the weights of 1 and 2 processes agree to this.
WEIGHT_TOLERANCE = 1e-4


def _workers_import_tests(patch: pytest.MonkeyPatch) -> None:
    """The torchrun workers import ddp_worker by name."""
    import os

    patch.setenv("PYTHONPATH", os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))


@pytest.fixture
def workers_import_tests(monkeypatch):
    _workers_import_tests(monkeypatch)


def assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert torch.allclose(a[name], b[name], atol=WEIGHT_TOLERANCE), \
            f"{name}: max difference {(a[name] - b[name]).abs().max():.2e}"


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    """An uninterrupted 2-process run: (its result, its checkpoint folder). Both tests hold
    something to it, and a torchrun launch costs seconds of process start-up."""
    import ddp_worker

    folder = tmp_path_factory.mktemp("ddp") / "two"
    with pytest.MonkeyPatch.context() as patch:
        _workers_import_tests(patch)
        return launch(ddp_worker.train, (str(folder),), {}, nproc_per_node=2, timeout=300), folder


@pytest.mark.slow
def test_two_processes_train_the_weights_one_does_at_the_same_global_batch(tmp_path, two_processes):
    import ddp_worker

    one = ddp_worker.train(str(tmp_path / "one"))
    two, folder = two_processes

    assert two["steps"] == one["steps"] == 21  # 7 batches of 7, 3 epochs: the same global steps
    assert_same_weights(one["weights"], two["weights"])
    assert [h["score"] for h in two["history"]] == pytest.approx([h["score"] for h in one["history"]], abs=1e-6)
    assert not folder.exists()  # rank 0 removed the finished run's checkpoint


@pytest.mark.slow
def test_two_processes_resume_after_a_kill_to_the_uninterrupted_result(tmp_path, workers_import_tests, two_processes):
    import ddp_worker

    whole, _ = two_processes
    with pytest.raises(InputError, match="torchrun with 2 processes failed"):
        launch(ddp_worker.train, (str(tmp_path / "killed"),), {"kill_at_step": 10}, nproc_per_node=2, timeout=300)
    assert (tmp_path / "killed").exists()
    resumed = launch(ddp_worker.train, (str(tmp_path / "killed"),), {}, nproc_per_node=2, timeout=300)

    assert resumed["resumed_from"] == 8  # the last checkpoint before the kill (every 4 steps)
    assert_same_weights(whole["weights"], resumed["weights"])
