"""Deterministic stratified splitting and sampling.

Rows are grouped by label (and by domain too when there is one, so every domain gets its own
dev and test rows for per-domain evaluation). Each group is shuffled by its own generator,
seeded from the seed and the group's name, so a group's split does not change when other
groups are added or removed. Within a split, rows keep the order of the input.
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

from nlpfactory.errors import InputError


def stratum_keys(frame: pd.DataFrame) -> pd.Series:
    """The group each row belongs to: its label, or domain/label when there are domains."""
    if "domain" in frame.columns:
        return frame["domain"].astype(str) + "/" + frame["label"].astype(str)
    return frame["label"].astype(str)


def stratified_split(frame: pd.DataFrame, dev_ratio: float, test_ratio: float,
                     seed: int) -> dict[str, pd.DataFrame]:
    """Split into train/dev/test by ratio within each group; every group keeps at least one
    row in train (a tiny group may get no dev or test rows)."""
    check_ratios(dev_ratio, test_ratio)
    chosen: dict[str, list[np.ndarray]] = {"train": [], "dev": [], "test": []}
    for key, positions in _groups(frame):
        order = _shuffled(positions, seed, key, purpose="split")
        n = len(order)
        n_test = min(_share(n, test_ratio), n - 1)
        n_dev = min(_share(n, dev_ratio), n - 1 - n_test)
        chosen["test"].append(order[:n_test])
        chosen["dev"].append(order[n_test:n_test + n_dev])
        chosen["train"].append(order[n_test + n_dev:])
    return {name: frame.iloc[np.sort(np.concatenate(rows or [np.empty(0, np.int64)]))].reset_index(drop=True)
            for name, rows in chosen.items()}


def stratified_sample(frame: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """`n` rows drawn in proportion to the groups (each group keeps at least one row when
    `n` allows); all rows when `n` is 0 or not smaller than the frame."""
    if n <= 0 or n >= len(frame):
        return frame.reset_index(drop=True)
    groups = dict(_groups(frame))
    take = _allocate({key: len(rows) for key, rows in groups.items()}, n)
    rows = [_shuffled(positions, seed, key, purpose="sample")[:take[key]] for key, positions in groups.items()]
    return frame.iloc[np.sort(np.concatenate(rows))].reset_index(drop=True)


def check_ratios(dev_ratio: float, test_ratio: float) -> None:
    if dev_ratio < 0 or test_ratio < 0 or dev_ratio + test_ratio >= 1:
        raise InputError(f"dev_ratio {dev_ratio} and test_ratio {test_ratio} leave no rows for "
                         "training", column="dev_ratio/test_ratio",
                         fix="use ratios of 0 or more that add up to less than 1, e.g. 0.1 and 0.1")


def _groups(frame: pd.DataFrame) -> list[tuple[str, np.ndarray]]:
    """(group, row positions in file order), sorted by group; positions as int arrays, since a
    Python list of a large file's positions took more memory than its text."""
    keys = stratum_keys(frame).reset_index(drop=True)
    return sorted((str(key), np.asarray(positions, dtype=np.int64))
                  for key, positions in keys.groupby(keys, sort=False).indices.items())


def _shuffled(positions: np.ndarray, seed: int, key: str, purpose: str) -> np.ndarray:
    rng = np.random.default_rng([seed, zlib.crc32(f"{purpose}:{key}".encode())])
    return positions[rng.permutation(len(positions))]


def _share(n: int, ratio: float) -> int:
    return int(n * ratio + 0.5)  # round half up: Python's round() sends 0.5 to 0


def _allocate(sizes: dict[str, int], n: int) -> dict[str, int]:
    """Split `n` over groups in proportion to their sizes (largest remainder), at least one
    per group while `n` allows."""
    total = sum(sizes.values())
    quota = {k: n * s / total for k, s in sizes.items()}
    least = 1 if n >= len(sizes) else 0
    take = {k: min(sizes[k], max(least, int(q))) for k, q in quota.items()}
    excess = sum(take.values()) - n
    for key in sorted(take, key=lambda k: (-take[k], k)):  # too many minimums: trim the biggest
        if excess <= 0:
            break
        cut = min(excess, take[key] - least)
        take[key] -= cut
        excess -= cut
    by_remainder = sorted(sizes, key=lambda k: (-(quota[k] - int(quota[k])), k))
    missing = n - sum(take.values())
    while missing > 0:
        for key in by_remainder:
            if missing and take[key] < sizes[key]:
                take[key] += 1
                missing -= 1
    return take
