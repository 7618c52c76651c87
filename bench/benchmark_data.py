"""Benchmark Datasets drawn inside prepare's default split of a datahub corpus, so that their
dev and test rows are among the texts the zh-pretrain corpus keeps out (pretrain_corpus.py):
a benchmark of N rows takes its train, dev and test rows from the default train, dev and
test splits, in proportion and stratified, never across them."""

from __future__ import annotations

from pathlib import Path

from nlpfactory.data.dataset import load_split, read_info, write_dataset
from nlpfactory.data.prepare import PrepareConfig, prepare_dataset
from nlpfactory.data.split import stratified_sample

SHARES = {"train": 0.8, "dev": 0.1, "test": 0.1}  # prepare's default dev_ratio and test_ratio


def benchmark_dataset(name: str, out: Path, rows: int = 0, domains: tuple[str, ...] = (), seed: int = 42) -> Path:
    """A Dataset folder of `rows` rows (0: all) of the chosen domains, nested in the default split."""
    full = out.with_name(out.name + "-default-split")
    prepare_dataset(PrepareConfig(data_source=name), full)  # the split zh-pretrain holds out
    info = read_info(full)
    splits = {}
    for split in ("train", "dev", "test"):
        frame = load_split(full, split)
        if domains:
            frame = frame[frame["domain"].isin(domains)].reset_index(drop=True)
        splits[split] = stratified_sample(frame, round(rows * SHARES[split]) if rows else 0, seed)
    if domains:
        info.domains = sorted(domains)
    write_dataset(out, splits, info)
    return out
