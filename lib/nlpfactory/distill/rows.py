"""Training rows for distillation: a domain's rows of a split, and per-row extras (domain
ids, prototype scores, stored teacher logits) attached to the tokenized rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from nlpfactory.errors import InputError


def domain_rows(frame: pd.DataFrame, domain: str, dataset_dir: str | Path, split: str) -> pd.DataFrame:
    """The rows of `domain` (all rows when it is empty)."""
    if not domain:
        return frame
    where = str(Path(dataset_dir) / f"{split}.parquet")
    if "domain" not in frame:
        raise InputError("the Dataset has no domain column, so it cannot be filtered by domain",
                         file=where, column="domain", fix="leave `domain` empty, or prepare the data with a domain column")
    chosen = frame[frame["domain"] == domain].reset_index(drop=True)
    if chosen.empty:
        have = sorted(frame["domain"].unique())
        raise InputError(f"no rows of domain {domain!r} (domains: {', '.join(map(str, have))})",
                         file=where, column="domain", fix=f"choose one of {have}")
    return chosen


def training_domains(info, train: pd.DataFrame, dataset_dir: str | Path) -> list[str]:
    """The domains a meta-teacher learns across: the Dataset's, at least two."""
    domains = list(info.domains) or (sorted(train["domain"].unique()) if "domain" in train else [])
    if len(domains) < 2:
        raise InputError(f"MetaKD learns across domains, and the training data has {len(domains)}",
                         file=str(Path(dataset_dir) / "train.parquet"), column="domain",
                         fix="prepare data with at least two domains in a domain column (--domain-col)")
    return domains


def domain_ids(frame: pd.DataFrame, domains: list[str], where: str) -> list[int]:
    """Each row's domain as an index into `domains`."""
    if "domain" not in frame:
        raise InputError("MetaKD needs a domain for every row", file=where, column="domain",
                         fix="prepare the data with a domain column (e.g. --domain-col)")
    index = {name: i for i, name in enumerate(domains)}
    unknown = sorted(set(frame["domain"]) - set(index))
    if unknown:
        raise InputError(f"domains {unknown} are not among the meta-teacher's domains {domains}",
                         file=where, column="domain", fix="distill on data of the domains the meta-teacher was trained on")
    return [index[d] for d in frame["domain"]]


def attach(rows: list[dict], key: str, values) -> list[dict]:
    for row, value in zip(rows, values, strict=True):
        row[key] = value
    return rows


def stored_logits(frame: pd.DataFrame, num_labels: int, where: str) -> list[list[float]] | None:
    """The `logits` column as lists of floats, or None when the data has none."""
    if "logits" not in frame:
        return None
    values = frame["logits"].tolist()
    for line, v in enumerate(values, start=1):
        if v is None or len(v) != num_labels:
            raise InputError(f"row {line} has no teacher logits for the {num_labels} labels",
                             file=where, line=line, column="logits",
                             fix="label every row of the split with the soft_label stage, or set use_stored_logits=false")
    return [[float(x) for x in v] for v in values]
