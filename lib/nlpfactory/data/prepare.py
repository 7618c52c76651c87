"""The prepare stage: a data file or a named corpus in, a Dataset folder out.

Order of work: read (every row checked) → keep the chosen domains → remove duplicates →
sample `max_rows` → split train/dev/test → write. Nothing is written unless every step
succeeds.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

from nlpfactory.config import to_dict
from nlpfactory.data import datahub
from nlpfactory.data.dataset import SPLITS, DatasetInfo, load_split, write_dataset
from nlpfactory.data.readers import FORMATS, INVISIBLE, file_format, read_file
from nlpfactory.data.schema import SchemaField, format_schema
from nlpfactory.data.split import stratified_sample, stratified_split
from nlpfactory.errors import InputError
from nlpfactory.stages.prepare_data import PrepareConfig
from nlpfactory.tracking import NO_TRACKING, Tracker

log = logging.getLogger(__name__)


# The file streams in, but deduplication and splitting hold its rows: measured by
# bench/prepare_memory.py at about 5x the file's size at peak (1.0 GB for a 200 MB TSV).
MEMORY_PER_FILE_BYTE = 5


def prepare_dataset(cfg: PrepareConfig, output_dir: str | Path, *, overwrite: bool = False) -> DatasetInfo:
    """Read, clean, sample and split the data; write the Dataset folder atomically.
    `overwrite` lets it replace a folder holding files nlpfactory did not write."""
    from nlpfactory.atomic import check_output_dir

    inputs = (cfg.data_source if Path(cfg.data_source).exists() else None, cfg.dev_file, cfg.test_file)
    check_output_dir(output_dir, inputs, overwrite)  # before reading: fail fast
    try:
        return _prepare(cfg, output_dir, inputs, overwrite)
    except MemoryError:
        size = sum(Path(p).stat().st_size for p in inputs if p and Path(p).is_file())
        raise InputError(f"out of memory: preparing needs about {MEMORY_PER_FILE_BYTE}x the data's size "
                         f"({MEMORY_PER_FILE_BYTE * size / 1e9:.1f} GB for {size / 1e9:.2f} GB of files)",
                         file=cfg.data_source,
                         fix="run on a machine with more memory, or split the file and prepare a part") from None


def _prepare(cfg: PrepareConfig, output_dir, inputs, overwrite: bool) -> DatasetInfo:
    from nlpfactory.ner.prepare import prepare_tagged, wants_tagging

    if wants_tagging(cfg):
        return prepare_tagged(cfg, output_dir, inputs=inputs, overwrite=overwrite)
    frame, source = _read_source(cfg)
    _check_task(cfg, frame)
    kept = {"rows_read": len(frame)}
    frame = _keep_domains(frame, cfg)
    kept["after_domains"] = len(frame)
    given = {split: _read_given(cfg, path) for split, path in
             (("dev", cfg.dev_file), ("test", cfg.test_file)) if path}
    frame, given = _one_spelling_per_label(cfg, frame, given)
    if cfg.dedup:
        frame = drop_duplicates(frame)
        kept["after_dedup"] = len(frame)
        if given:
            frame = drop_overlap(frame, [f for f, _ in given.values()])
            kept["after_removing_dev_test_texts"] = len(frame)
    if frame.empty:
        raise InputError("no rows are left to train on", file=cfg.data_source,
                         fix="check --domains / --other-domain, or the data itself")
    _check_classes(cfg, frame)
    frame = stratified_sample(frame, cfg.max_rows, cfg.seed)
    kept["after_max_rows"] = len(frame)
    ratios = {"dev": 0.0 if "dev" in given else cfg.dev_ratio, "test": 0.0 if "test" in given else cfg.test_ratio}
    splits = stratified_split(frame, ratios["dev"], ratios["test"], cfg.seed)
    _warn_thin_splits(frame, splits, ratios)
    for split, (given_frame, given_source) in given.items():
        splits[split] = given_frame
        source[f"{split}_file"] = given_source
    splits = {name: splits[name] for name in SPLITS if len(splits[name])}
    source["rows_kept"] = kept
    info = DatasetInfo(
        task=cfg.resolved_task, labels=_labels(cfg, splits), domains=_domains(splits),
        source=source, schema=cfg.schema or _output_schema(frame),
        text_columns=["text", "text_b"] if "text_b" in frame.columns else ["text"],
    )
    write_dataset(output_dir, splits, info, inputs=inputs, overwrite=overwrite)
    return info


def _read_source(cfg: PrepareConfig) -> tuple[pd.DataFrame, dict]:
    path = Path(cfg.data_source)
    if path.exists() or (cfg.data_source not in datahub.CORPORA and _looks_like_file(cfg.data_source)):
        return read_file(path, cfg.columns, schema=cfg.schema, encoding=cfg.encoding,
                         labels=cfg.labels), _file_source(path)
    corpus = datahub.get(cfg.data_source)
    frame, source = datahub.load(corpus.name)
    unknown = sorted(set(frame["label"]) - set(cfg.labels)) if cfg.labels else []
    if unknown:
        raise InputError(f"the corpus has labels {unknown} that --labels does not list",
                         file=corpus.name, fix=f"list all of its labels: {', '.join(corpus.labels)}")
    if cfg.text_b_col or cfg.task not in ("", corpus.task):
        raise InputError(f"the corpus is a {corpus.task} corpus with columns "
                         f"{', '.join(frame.columns)}", file=corpus.name,
                         fix="leave --task and --text-b-col empty for a named corpus")
    return frame, source


def _looks_like_file(name: str) -> bool:
    return Path(name).suffix.lower() in FORMATS or "/" in name or "\\" in name


def _file_source(path: Path) -> dict:
    return {"file": str(path.resolve()), "format": file_format(path), "sha256": datahub.sha256(path)}


def _read_given(cfg: PrepareConfig, path: str) -> tuple[pd.DataFrame, dict]:
    frame = read_file(path, cfg.columns, schema=cfg.schema, encoding=cfg.encoding, labels=cfg.labels)
    return frame, _file_source(Path(path))


def label_key(label: str):
    """Labels with the same key differ only in letter case or number format (NEG/neg, 1/1.0)."""
    try:
        number = float(label)
    except ValueError:
        return ("name", label.casefold())
    return ("number", number) if math.isfinite(number) else ("name", label.casefold())


def _one_spelling_per_label(cfg: PrepareConfig, frame: pd.DataFrame, given: dict) -> tuple:
    """Labels that differ only in case or number format are an error naming them, or, with
    normalize_labels, merged into their most common spelling."""
    if cfg.labels:  # the allowed names are listed: any other spelling was already an error
        return frame, given
    counts = pd.concat([frame["label"], *(f["label"] for f, _ in given.values())]).value_counts()
    groups: dict = {}
    for label in sorted(counts.index):
        groups.setdefault(label_key(label), []).append(label)
    variants = [g for g in groups.values() if len(g) > 1]
    if not variants:
        return frame, given
    shown = "; ".join(", ".join(f"{name!r} ({counts[name]} rows)" for name in g) for g in variants)
    if not cfg.normalize_labels:
        raise InputError(f"some labels differ only in letter case or number format: {shown}",
                         file=cfg.data_source, column="label",
                         fix="correct the labels in the file, or pass --normalize-labels true to merge "
                             "each group into its most common spelling")
    spelling = {name: max(g, key=lambda n: (counts[n], [-ord(c) for c in n])) for g in variants for name in g}
    log.warning("merged labels that differ only in case or number format: %s", shown)

    def merged(f: pd.DataFrame) -> pd.DataFrame:
        return f.assign(label=f["label"].map(lambda name: spelling.get(name, name)))

    return merged(frame), {split: (merged(f), src) for split, (f, src) in given.items()}


def _check_classes(cfg: PrepareConfig, frame: pd.DataFrame) -> None:
    found = sorted(set(frame["label"]))
    if len(found) < 2:
        raise InputError(f"every row has the label {found[0]!r}: a classifier needs at least two classes",
                         file=cfg.data_source, column="label",
                         fix="add rows of the other classes, or check --label-col")


def _warn_thin_splits(frame: pd.DataFrame, splits: dict, ratios: dict) -> None:
    """A dev or test split of one class, or a class too small to reach one, measures little."""
    for split, ratio in ratios.items():
        if ratio <= 0:
            continue
        missing = sorted(set(frame["label"]) - set(splits[split]["label"]))
        if missing:
            log.warning("the %s split has no rows of %s: those classes have too few rows for a "
                        "%s ratio of %s", split, ", ".join(map(repr, missing)), split, ratio)
        if len(splits[split]) and splits[split]["label"].nunique() == 1:
            log.warning("the %s split holds only one class; its scores will say little", split)


def _check_task(cfg: PrepareConfig, frame: pd.DataFrame) -> None:
    if cfg.resolved_task == "pair_classification" and "text_b" not in frame.columns:
        raise InputError("a pair_classification task needs a second text column",
                         file=cfg.data_source, column="text_b_col",
                         fix="name the column of the second text with --text-b-col")
    if cfg.resolved_task == "classification" and "text_b" in frame.columns:
        raise InputError("a second text column is given but the task is classification",
                         file=cfg.data_source, column="task",
                         fix="use --task pair_classification, or drop --text-b-col")


def _keep_domains(frame: pd.DataFrame, cfg: PrepareConfig) -> pd.DataFrame:
    if "domain" not in frame.columns:
        if cfg.domains:
            raise InputError("--domains is set but the data has no domain column",
                             file=cfg.data_source, column="domains",
                             fix="name the domain column with --domain-col, or leave --domains empty")
        return frame
    if cfg.other_domain == "drop":
        frame = frame[frame["domain"] != datahub.OTHER]
    if cfg.domains:
        unknown = sorted(set(cfg.domains) - set(frame["domain"]))
        if unknown:
            raise InputError(f"no rows have the domain(s) {unknown} (the data has: "
                             f"{', '.join(sorted(set(frame['domain'])))})", file=cfg.data_source,
                             column="domains", fix="choose --domains from the domains the data has")
        frame = frame[frame["domain"].isin(cfg.domains)]
    return frame.reset_index(drop=True)


def _text_key(frame: pd.DataFrame) -> list[str]:
    return [c for c in ("text", "text_b") if c in frame.columns]


def dedup_text(text: str) -> str:
    """The form under which two texts count as the same: Unicode-compatible forms folded
    (full-width punctuation and letters), invisible characters and spaces removed, case
    folded. Only the comparison uses it; the rows keep their text as written."""
    folded = unicodedata.normalize("NFKC", text)
    return "".join(c for c in folded if unicodedata.category(c) not in INVISIBLE).casefold()


def _dedup_keys(frame: pd.DataFrame) -> pd.DataFrame:
    """A 128-bit digest of each row's dedup_text(s), as two int64 columns: 16 bytes a row where
    the folded strings themselves doubled the memory of a large file (a collision of two
    different texts is about as likely as 2**-100 at a million rows)."""
    columns = _text_key(frame)
    digests = bytearray()
    for start in range(0, len(frame), 65536):  # a slice at a time as Python strings
        part = frame.iloc[start:start + 65536]
        for values in zip(*(part[c].tolist() for c in columns), strict=True):
            key = "\x1f".join(dedup_text(v) for v in values)
            digests += hashlib.blake2b(key.encode("utf-8"), digest_size=16).digest()
    pairs = np.frombuffer(bytes(digests), dtype=np.int64).reshape(-1, 2)
    return pd.DataFrame({"key_a": pairs[:, 0], "key_b": pairs[:, 1]}, index=frame.index)


def drop_duplicates(frame: pd.DataFrame) -> pd.DataFrame:
    """Keep the first of rows with the same text(s) (see dedup_text); drop every copy of a
    text that carries different labels, since no one can tell which label is right."""
    keys = _dedup_keys(frame)
    columns = list(keys.columns)
    conflicting = keys.assign(label=frame["label"]).groupby(columns)["label"].transform("nunique") > 1
    first = ~keys.duplicated(keep="first")
    return frame[first & ~conflicting].reset_index(drop=True)


def drop_overlap(frame: pd.DataFrame, held_out: list[pd.DataFrame]) -> pd.DataFrame:
    """Drop rows whose text(s) also appear in a given dev/test file (see dedup_text), so
    evaluation is honest."""
    seen = set(pd.concat([_dedup_keys(h) for h in held_out]).itertuples(index=False, name=None))
    mine = _dedup_keys(frame).itertuples(index=False, name=None)
    return frame[[row not in seen for row in mine]].reset_index(drop=True)


def _labels(cfg: PrepareConfig, splits: dict[str, pd.DataFrame]) -> list[str]:
    if cfg.labels:
        return list(cfg.labels)
    return sorted(set().union(*(set(f["label"]) for f in splits.values())))


def _domains(splits: dict[str, pd.DataFrame]) -> list[str]:
    found = [set(f["domain"]) for f in splits.values() if "domain" in f.columns]
    return sorted(set().union(*found)) if found else []


def _output_schema(frame: pd.DataFrame) -> str:
    return format_schema([SchemaField(c) for c in frame.columns])


def dataset_metrics(output_dir: str | Path, info: DatasetInfo) -> dict[str, float]:
    """Row counts per split, and per label and domain within each split."""
    metrics: dict[str, float] = {}
    for split, rows in info.rows.items():
        metrics[f"rows.{split}"] = rows
        frame = load_split(output_dir, split)
        for column in ("label", "domain"):
            if column in frame.columns:
                for value, count in frame[column].value_counts().items():
                    metrics[f"{split}.{column}.{value}"] = int(count)
    return metrics


def prepare_dataset_tracked(cfg: PrepareConfig, output_dir: str | Path, *, tracker: Tracker = NO_TRACKING) -> DatasetInfo:
    """prepare_dataset, logged to MLflow as the `prepare_data` stage of a pipeline run."""
    with tracker.stage_run("prepare_data", to_dict(cfg)) as run:
        info = prepare_dataset(cfg, output_dir)
        run.log_metrics(dataset_metrics(output_dir, info))
        run.log_text(json.dumps(dataclasses.asdict(info), ensure_ascii=False, indent=2),
                     "dataset.json")
    return info
