"""torchrun data parallel: 2 CPU processes (gloo) at the same global batch train what 1 does,
resume from a kill, and in a stage only rank 0 writes the artifact and the MLflow run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from nlpfactory.errors import InputError
from nlpfactory.train.distributed import launch

HERE = Path(__file__).parent
# Float sums in another order (a share's mean, then an all-reduce) differ in the last bits;
# after 21 AdamW steps the weights of 1 and 2 processes agree to this.
WEIGHT_TOLERANCE = 1e-4


def assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert torch.allclose(a[name], b[name], atol=WEIGHT_TOLERANCE), (
            f"{name}: max difference {(a[name] - b[name]).abs().max():.2e}"
        )


@pytest.fixture(scope="module")
def killed_and_resumed(tmp_path_factory):
    """Two processes killed at step 10, then launched again on the same checkpoint folder:
    (the killed launch's error, whether it left its checkpoint, the resumed result, the folder).
    The resumed run trains every step under two processes (1-8 before the kill, 9-21 after), so
    one process's uninterrupted run is what both tests hold it to; a third launch (an
    uninterrupted two-process run) would cost seconds of process start-up and check nothing more."""
    import ddp_worker

    folder = tmp_path_factory.mktemp("ddp") / "killed"
    with pytest.MonkeyPatch.context() as patch:
        # The torchrun workers import ddp_worker by name.
        patch.setenv("PYTHONPATH", os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
        with pytest.raises(InputError) as killed:
            launch(ddp_worker.train, (str(folder),), {"kill_at_step": 10}, nproc_per_node=2, timeout=300)
        left_checkpoint = folder.exists()
        resumed = launch(ddp_worker.train, (str(folder),), {}, nproc_per_node=2, timeout=300)
    return killed.value, left_checkpoint, resumed, folder


@pytest.mark.slow
def test_two_processes_killed_and_resumed_train_the_weights_one_does_uninterrupted(tmp_path, killed_and_resumed):
    import ddp_worker

    one = ddp_worker.train(str(tmp_path / "one"))
    *_, two, folder = killed_and_resumed

    assert two["steps"] == one["steps"] == 21  # 7 batches of 7, 3 epochs: the same global steps
    assert_same_weights(one["weights"], two["weights"])
    assert [h["score"] for h in two["history"]] == pytest.approx([h["score"] for h in one["history"]], abs=1e-6)
    assert not folder.exists()  # rank 0 removed the finished run's checkpoint


@pytest.mark.slow
def test_two_processes_resume_after_a_kill_from_the_last_checkpoint(killed_and_resumed):
    killed, left_checkpoint, resumed, _ = killed_and_resumed

    assert "torchrun with 2 processes failed" in str(killed)
    assert left_checkpoint
    assert resumed["resumed_from"] == 8  # the last checkpoint before the kill (every 4 steps)
