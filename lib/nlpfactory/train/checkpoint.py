"""Resumable training state, written atomically so a kill mid-write loses nothing."""

from __future__ import annotations

import io
import random
from pathlib import Path

import numpy as np
import torch

from nlpfactory.atomic import atomic_write_bytes

STATE_FILE = "training_state.pt"


def rng_state() -> dict:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_state(folder: Path, state: dict) -> None:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write_bytes(folder / STATE_FILE, buffer.getvalue())


def load_state(folder: Path) -> dict | None:
    path = folder / STATE_FILE
    if not path.is_file():
        return None
    # weights_only=False: the state holds RNG tuples and numpy arrays, and it is our own file.
    return torch.load(path, map_location="cpu", weights_only=False)


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
    import os

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
