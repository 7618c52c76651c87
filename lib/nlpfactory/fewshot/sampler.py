"""Few-shot sampling: exactly K labelled rows per class, and batches that hold every class."""

from __future__ import annotations

import random
import zlib
from collections.abc import Sequence

import numpy as np
import pandas as pd

from nlpfactory.errors import InputError


def sample_k_shot(frame: pd.DataFrame, k: int, seed: int, labels: Sequence[str] | None = None,
                  *, strict: bool = True, split: str = "train") -> pd.DataFrame:
    """K rows of each label, chosen by `seed`, in a seeded random order.

    The draw for one label depends only on that label's rows and the seed, so adding rows of
    another class does not change it. `strict`: a label with fewer than K rows is an error;
    otherwise all its rows are taken.
    """
    names = list(labels) if labels is not None else sorted(frame["label"].astype(str).unique())
    chosen = []
    for name in names:
        rows = frame.index[frame["label"].astype(str) == name]
        if len(rows) < k and strict:
            raise InputError(f"label {name!r} has {len(rows)} {split} rows but {k} per class were asked for",
                             column="label", fix=f"lower shots_per_class to {len(rows)} or add {split} rows of {name!r}")
        own = np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])
        picked = own.permutation(len(rows))[:k]
        chosen.extend(rows[np.sort(picked)])
    order = np.random.default_rng(seed).permutation(len(chosen))
    return frame.loc[[chosen[i] for i in order]].reset_index(drop=True)


def balanced_batches(labels: Sequence[int], batch_size: int, seed: int, min_per_class: int = 2) -> list[list[int]]:
    """Batches with the same number of rows of every class, at least `min_per_class` each,
    so that every batch has same-class and different-class pairs (what PCCL learns from).

    Each class gives max(min_per_class, batch_size // classes) rows per batch; a class that
    runs out starts a fresh shuffle of its rows, and an epoch lasts until the largest class
    has been seen once. A batch therefore may exceed `batch_size` when there are many classes.
    """
    rng = random.Random(seed)
    by_class: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        by_class.setdefault(int(label), []).append(i)
    per_class = max(min_per_class, batch_size // max(1, len(by_class)))
    count = -(-max(len(v) for v in by_class.values()) // per_class)
    streams = {c: _Stream(rows, rng) for c, rows in sorted(by_class.items())}
    batches = []
    for _ in range(count):
        batch = [i for stream in streams.values() for i in stream.take(per_class)]
        rng.shuffle(batch)
        batches.append(batch)
    return batches


class _Stream:
    """Endless reshuffled passes over one class's rows, never repeating a row inside a take."""

    def __init__(self, rows: list[int], rng: random.Random):
        self.rows, self.rng, self.queue = rows, rng, []

    def take(self, n: int) -> list[int]:
        out: list[int] = []
        while len(out) < min(n, len(self.rows)):
            if not self.queue:
                fresh = self.rows[:]
                self.rng.shuffle(fresh)
                # rows already in this take go last, so a small class does not repeat within it
                self.queue = [r for r in fresh if r not in out] + [r for r in fresh if r in out]
            out.append(self.queue.pop(0))
        return out
