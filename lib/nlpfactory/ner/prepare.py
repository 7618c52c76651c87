"""The prepare stage for sequence labeling: a tagged file (either shape) or a NER corpus in,
a Dataset with `text` and `tags` (BIO, one tag per character) out; dataset.json lists the
tag names in id order, O first.

Order of work as for classification: read (every sentence checked) → remove duplicates →
sample `max_rows` → split (a corpus's own test file is its test split) → write. Splits are
random, not stratified: a sentence holds many entities of several types at once.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from nlpfactory.data import datahub
from nlpfactory.data.dataset import SPLITS, DatasetInfo, write_dataset
from nlpfactory.errors import InputError
from nlpfactory.ner.read import is_conll, read_tagged
from nlpfactory.ner.tags import entity_types, tag_names

TASK = "sequence_labeling"


def wants_tagging(cfg) -> bool:
    """Whether a PrepareConfig asks for sequence labeling (said, or implied by the source)."""
    if cfg.task == TASK or cfg.format == "conll":
        return True
    if cfg.task == "" and Path(cfg.data_source).is_file():
        return is_conll(cfg.data_source, cfg.encoding)
    corpus = datahub.CORPORA.get(cfg.data_source)
    return cfg.task == "" and corpus is not None and corpus.task == TASK


def prepare_tagged(cfg, output_dir: str | Path, *, inputs=(), overwrite: bool = False) -> DatasetInfo:
    """`inputs` and `overwrite` guard what the output may replace, as for classification."""
    types = list(cfg.labels) or None
    splits, source = tagged_splits(cfg, types)
    found = entity_types([t for f in splits.values() for tags in f["tags"] for t in tags])
    columns = ["text", "tags"] + (["domain"] if all("domain" in f for f in splits.values()) else [])
    domains = sorted({d for f in splits.values() for d in f["domain"]}) if "domain" in columns else []
    info = DatasetInfo(task=TASK, labels=tag_names(types or sorted(found)), source=source, domains=domains,
                       schema="text:str:1,tags:str:1", text_columns=["text"])
    write_dataset(output_dir, {k: v[columns] for k, v in splits.items()}, info, inputs=inputs, overwrite=overwrite)
    return info


def tagged_splits(cfg, types=None) -> tuple[dict[str, pd.DataFrame], dict]:
    """Read, dedupe, sample and split as `prepare` does; also tells the pretraining corpus
    which sentences a default prepare holds out."""
    frame, source = _read(cfg, cfg.data_source, types)
    frame = _keep_domains(frame, cfg)
    given = {split: _read(cfg, path, types) for split, path in
             (("dev", cfg.dev_file), ("test", cfg.test_file)) if path}
    if "split" in frame.columns:  # a corpus's own held-out file
        if "test" not in given:
            given["test"] = (frame[frame["split"] == "test"], {"from": "the corpus's test file"})
        frame = frame[frame["split"] != "test"]
        frame = frame.drop(columns="split")
        given = {k: (f.drop(columns="split", errors="ignore"), s) for k, (f, s) in given.items()}
    kept = {"rows_read": len(frame)}
    if cfg.dedup:
        frame = drop_duplicate_sentences(frame)
        kept["after_dedup"] = len(frame)
        held = {t for f, _ in given.values() for t in f["text"]}
        frame = frame[~frame["text"].isin(held)].reset_index(drop=True)
        kept["after_removing_dev_test_texts"] = len(frame)
    if frame.empty:
        raise InputError("no sentences are left to train on", file=cfg.data_source, fix="check the data")
    rng = np.random.default_rng(cfg.seed)
    if 0 < cfg.max_rows < len(frame):
        frame = frame.iloc[np.sort(rng.permutation(len(frame))[:cfg.max_rows])].reset_index(drop=True)
        kept["after_max_rows"] = len(frame)
    splits = random_split(frame, 0.0 if "dev" in given else cfg.dev_ratio,
                          0.0 if "test" in given else cfg.test_ratio, rng)
    for split, (given_frame, given_source) in given.items():
        splits[split] = given_frame.reset_index(drop=True)
        source[f"{split}_file"] = given_source
    source["rows_kept"] = kept
    return {name: splits[name] for name in SPLITS if name in splits and len(splits[name])}, source


def _read(cfg, name: str, types) -> tuple[pd.DataFrame, dict]:
    path = Path(name)
    if not path.exists() and name in datahub.CORPORA:
        corpus = datahub.get(name)
        if corpus.task != TASK:
            raise InputError(f"the corpus is a {corpus.task} corpus", file=name,
                             fix="choose a sequence-labeling corpus (see `nlpfactory data list`)")
        frame, source = datahub.load(name)
        if types:
            extra = sorted(set(entity_types([t for tags in frame["tags"] for t in tags])) - set(types))
            if extra:
                raise InputError(f"the corpus has entity types {extra} that --labels does not list",
                                 file=name, fix="list all of its types, e.g. PER,LOC,ORG, or leave --labels empty")
        return frame, source
    frame = read_tagged(path, format=cfg.format, text_col=cfg.text_col, tags_col=cfg.tags_col,
                        types=types, schema=cfg.schema, encoding=cfg.encoding, domain_col=cfg.domain_col)
    return frame, {"file": str(path.resolve()), "format": cfg.format or "recognised", "sha256": datahub.sha256(path)}


def _keep_domains(frame: pd.DataFrame, cfg) -> pd.DataFrame:
    """The sentences of `cfg.domains` (all when it is empty)."""
    if not cfg.domains:
        return frame
    if "domain" not in frame:
        raise InputError("--domains is set but the tagged data has no domain column", file=cfg.data_source,
                         column="domains", fix="name a tagged table's domain column with --domain-col, or leave --domains empty")
    unknown = sorted(set(cfg.domains) - set(frame["domain"]))
    if unknown:
        raise InputError(f"no sentences have the domain(s) {unknown} (the data has: "
                         f"{', '.join(sorted(set(frame['domain'])))})", file=cfg.data_source, column="domains",
                         fix="choose --domains from the domains the data has")
    return frame[frame["domain"].isin(cfg.domains)].reset_index(drop=True)


def drop_duplicate_sentences(frame: pd.DataFrame) -> pd.DataFrame:
    """Keep the first of repeated sentences; drop every copy of one tagged in different ways."""
    key = frame["tags"].map(" ".join)
    conflicting = key.groupby(frame["text"]).transform("nunique") > 1
    return frame[~conflicting].drop_duplicates(subset="text", keep="first").reset_index(drop=True)


def random_split(frame: pd.DataFrame, dev_ratio: float, test_ratio: float, rng) -> dict[str, pd.DataFrame]:
    order = rng.permutation(len(frame))
    n_test = min(int(len(frame) * test_ratio + 0.5), len(frame) - 1)
    n_dev = min(int(len(frame) * dev_ratio + 0.5), len(frame) - 1 - n_test)
    parts = {"test": order[:n_test], "dev": order[n_test:n_test + n_dev], "train": order[n_test + n_dev:]}
    return {name: frame.iloc[np.sort(rows)].reset_index(drop=True) for name, rows in parts.items()}
