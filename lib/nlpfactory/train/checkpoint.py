"""Resumable training state, written atomically so a kill mid-write loses nothing."""

from __future__ import annotations

import io
import logging
import os
import random
import time
from pathlib import Path

import numpy as np
import torch

from nlpfactory.atomic import atomic_write_bytes
from nlpfactory.errors import NlpFactoryError

log = logging.getLogger(__name__)

STATE_FILE = "training_state.pt"
LOCK_FILE = ".lock"
STATE_KEYS = ("model", "optimizer", "scheduler", "rng", "progress")


class CheckpointError(NlpFactoryError):
    """A checkpoint that cannot be resumed from: damaged, foreign, or unsafe to load."""


def rng_state() -> dict:
    """Every random generator's state, as plain values and tensors (loadable with
    `weights_only=True`, so a checkpoint file can never run code)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, internal, python_gauss = random.getstate()
    state = {"python": [version, list(internal), python_gauss],
             "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(gauss)],
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    version, internal, python_gauss = state["python"]
    random.setstate((version, tuple(internal), python_gauss))
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _plain(value):
    """numpy scalars (e.g. in dev metrics) as Python numbers, which weights_only loading allows."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def save_state(folder: Path, state: dict) -> None:
    buffer = io.BytesIO()
    torch.save(_plain({**state, "written": {"at": time.strftime("%Y-%m-%d %H:%M:%S"), "pid": os.getpid()}}),
               buffer)
    atomic_write_bytes(folder / STATE_FILE, buffer.getvalue())


def load_state(folder: Path) -> dict | None:
    """The saved state, or None when there is none. A file that is not a checkpoint we wrote
    (damaged, or holding code to run) is refused with its path, never executed."""
    path = folder / STATE_FILE
    if not path.is_file():
        return None
    fix = f"delete {folder} to start the training over"
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch raises many types for a bad or unsafe file
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"{path}: the checkpoint cannot be loaded safely ({reason[:200]})\n  fix: {fix}") from None
    missing = [k for k in STATE_KEYS if not isinstance(state, dict) or k not in state]
    if missing:
        raise CheckpointError(f"{path}: the checkpoint lacks {', '.join(missing)}, so it was not written "
                              f"by this version of nlpfactory or is damaged\n  fix: {fix}")
    return state


def claim(folder: Path):
    """Take `folder` for this run, or, when another live run holds it, a fresh folder beside
    it: two runs never train into one checkpoint. Returns (folder, lock); the lock is held
    while the returned file object stays open (the OS drops it when the process dies)."""
    import fcntl

    folder = Path(folder)
    candidate = folder
    for attempt in range(100):
        _private_mkdir(candidate)
        lock = open(candidate / LOCK_FILE, "a+")  # noqa: SIM115 - held open for the run
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            candidate = folder.with_name(f"{folder.name}-{os.getpid()}-{attempt + 1}")
            continue
        if candidate != folder:
            log.warning("another run is training from the checkpoint %s; this run keeps its own "
                        "checkpoint in %s", folder, candidate)
        return candidate, lock
    raise CheckpointError(f"{folder}: could not find a free checkpoint folder")


def _private_mkdir(folder: Path) -> None:
    # Private: a checkpoint holds the run's weights, and nobody else may plant one here.
    folder.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder.mkdir(exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def checkpoint_dir_for(stage: str, config: dict, *inputs: str | Path) -> Path:
    """A stable folder for a stage's resumable state: the same stage, options and input data
    map to the same folder, so re-running a killed stage picks up where it stopped.
    `NLPFACTORY_CHECKPOINTS` moves the folder (default: the cache folder's checkpoints/)."""
    import hashlib
    import json

    from nlpfactory.paths import cache_dir

    digest = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode())
    for item in inputs:
        path = Path(item)
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            digest.update(f.name.encode())
            digest.update(str(os.path.getsize(f)).encode())
            digest.update(hashlib.sha256(f.read_bytes()).digest() if f.stat().st_size < 2**28 else b"")
    root = Path(os.environ.get("NLPFACTORY_CHECKPOINTS") or cache_dir() / "checkpoints")
    return root / f"{stage}-{digest.hexdigest()[:16]}"
