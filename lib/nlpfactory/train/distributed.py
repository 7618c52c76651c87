"""Data-parallel training under torchrun: one process per device, each taking its share of
every global batch; gradients are averaged across processes before each optimizer step.

A stage asks for it with `nproc_per_node > 1` (it then relaunches itself under torchrun), or a
launcher (torchrun, a PyTorchJob) sets WORLD_SIZE. Rank 0 alone writes artifacts, checkpoints
and MLflow runs; the others compute and throw their outputs away.

The averaging is done by hand after the backward pass (one all-reduce of the flattened
gradients per step) instead of wrapping the model in DistributedDataParallel: stage loss
functions reach into their modules (teacher heads, prompt encoders), which the DDP wrapper
hides. The arithmetic is DDP's; what is lost is the overlap of communication with backward.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ENTRY_MODULE = "nlpfactory.train.distributed"


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1") or 1)


def rank() -> int:
    return int(os.environ.get("RANK", "0") or 0)


def is_distributed() -> bool:
    return world_size() > 1


def is_main_process() -> bool:
    """True in a plain process and in rank 0 of a distributed one: the one that writes."""
    return rank() == 0


@contextlib.contextmanager
def process_group(device) -> Iterator[Any]:
    """Join the torchrun process group for the length of a training run (gloo on CPU, NCCL on
    CUDA); yields the device this rank trains on."""
    import torch
    import torch.distributed as dist

    if not is_distributed():
        yield device
        return
    created = not dist.is_initialized()
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if created:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    try:
        yield device
    finally:
        if created:
            dist.destroy_process_group()


def broadcast_parameters(model) -> None:
    """Start every rank from rank 0's weights."""
    import torch.distributed as dist

    if is_distributed():
        for tensor in [*model.parameters(), *model.buffers()]:
            dist.broadcast(tensor.data, src=0)


def my_share(index: list[int]) -> list[int]:
    """This rank's rows of a global batch (every world_size-th, so lengths stay grouped)."""
    return index[rank()::world_size()]


def share_weight(share: int, batch: int) -> float:
    """Factor on this rank's mean loss so that the averaged gradient is the gradient of the
    global batch's mean loss, also when the shares are of unequal size."""
    return share * world_size() / batch


def average_gradients(parameters) -> None:
    """All-reduce the gradients (mean over ranks) in one flattened call; a rank whose share
    of a batch was empty contributes zeros."""
    import torch
    import torch.distributed as dist

    if not is_distributed():
        return
    params = [p for p in parameters if p.requires_grad]
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world_size()
    offset = 0
    for p in params:
        n = p.numel()
        p.grad = flat[offset:offset + n].view_as(p).clone()
        offset += n


def from_main(value: Any) -> Any:
    """Rank 0's value on every rank (e.g. dev metrics that decide early stopping)."""
    import torch.distributed as dist

    if not is_distributed():
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def launch(function: Callable, args: tuple, kwargs: dict, nproc_per_node: int,
           timeout: float | None = None) -> Any:
    """Run function(*args, **kwargs) in `nproc_per_node` processes under torchrun on this
    machine and return rank 0's result."""
    from nlpfactory.errors import InputError

    with tempfile.TemporaryDirectory(prefix="nlpfactory-ddp-") as tmp:
        call, result = Path(tmp) / "call.pkl", Path(tmp) / "result.pkl"
        call.write_bytes(pickle.dumps((function.__module__, function.__qualname__, args, kwargs)))
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                   f"--nproc_per_node={nproc_per_node}", "-m", ENTRY_MODULE, str(call), str(result)]
        env = {**os.environ}
        # Share the cores instead of each process taking them all.
        env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc_per_node)))
        torchrun = subprocess.Popen(command, env=env)
        try:
            code = torchrun.wait(timeout=timeout)
        except BaseException:  # the timeout, Ctrl-C, or an error here: the ranks must not outlive this call
            _stop(torchrun)
            raise
        if code != 0 or not result.exists():
            raise InputError(f"torchrun with {nproc_per_node} processes failed (exit {code})",
                             fix="see the log above; nproc_per_node=1 runs in one process")
        return pickle.loads(result.read_bytes())


def _stop(torchrun: subprocess.Popen, grace: float = 30.0) -> None:
    """SIGTERM, which torchrun passes on to its ranks before it exits; a SIGKILL (what
    subprocess.run's timeout sent) ended torchrun alone and left the ranks training."""
    torchrun.terminate()
    try:
        torchrun.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        torchrun.kill()
        torchrun.wait()


def _worker(call: str, result: str) -> None:
    import importlib

    module, name, args, kwargs = pickle.loads(Path(call).read_bytes())
    function = importlib.import_module(module)
    for part in name.split("."):
        function = getattr(function, part)
    value = function(*args, **kwargs)
    if is_main_process():
        Path(result).write_bytes(pickle.dumps(value))


if __name__ == "__main__":
    _worker(*sys.argv[1:3])
