"""The Dataset artifact: a folder with train/dev/test Parquet files and dataset.json.

Columns: `text`, optional `text_b` (pairs), `label` (the label *name*, a string) for
classification or `tags` (a list of BIO tags, one per character) for sequence labeling,
optional `domain`, optional `logits` (teacher soft labels, a list of
floats in label-id order), optional `source_id` (augmented rows point at their original).
dataset.json holds the task, the label names in id order, the domain names, row counts,
where the data came from and the schema it was read with.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd

from nlpfactory.atomic import atomic_dir
from nlpfactory.errors import InputError, read_marker_json

SPLITS = ("train", "dev", "test")
TASKS = ("classification", "pair_classification", "sequence_labeling")
INFO_FILE = "dataset.json"


@dataclasses.dataclass
class DatasetInfo:
    task: str
    labels: list[str]
    domains: list[str] = dataclasses.field(default_factory=list)
    rows: dict[str, int] = dataclasses.field(default_factory=dict)
    source: dict = dataclasses.field(default_factory=dict)
    schema: str = ""
    text_columns: list[str] = dataclasses.field(default_factory=lambda: ["text"])

    @property
    def is_pair(self) -> bool:
        return "text_b" in self.text_columns


def read_info(dataset_dir: str | Path) -> DatasetInfo:
    path = Path(dataset_dir) / INFO_FILE
    raw = read_marker_json(
        dataset_dir,
        INFO_FILE,
        "a Dataset folder",
        "point at a folder written by `nlpfactory data prepare` or the prepare_data component",
    )
    known = {f.name for f in dataclasses.fields(DatasetInfo)}
    info = DatasetInfo(**{k: v for k, v in raw.items() if k in known})
    if len(info.labels) < 2:  # one class would train a regression head that scores 1.0
        raise InputError(
            f"the Dataset has {len(info.labels)} label(s) ({', '.join(info.labels)}); a classifier needs at least two",
            file=str(path),
            fix="prepare the data again with rows of at least two classes",
        )
    return info


def load_split(dataset_dir: str | Path, split: str) -> pd.DataFrame:
    path = Path(dataset_dir) / f"{split}.parquet"
    if not path.is_file():
        have = [s for s in SPLITS if (Path(dataset_dir) / f"{s}.parquet").is_file()]
        raise InputError(
            f"the Dataset has no {split!r} split (it has: {', '.join(have) or 'none'})",
            file=str(dataset_dir),
            fix=f"prepare the data with a {split} split, or choose one of {have}",
        )
    return pd.read_parquet(path)


def has_split(dataset_dir: str | Path, split: str) -> bool:
    return (Path(dataset_dir) / f"{split}.parquet").is_file()


def train_and_dev(dataset_dir: str | Path) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """What every training stage reads: the train split, and the dev split (None when the
    Dataset has none: training then keeps the last epoch)."""
    dev = load_split(dataset_dir, "dev") if has_split(dataset_dir, "dev") else None
    return load_split(dataset_dir, "train"), dev


def label_ids(frame: pd.DataFrame, info: DatasetInfo) -> list[int]:
    index = {name: i for i, name in enumerate(info.labels)}
    return [index[str(v)] for v in frame["label"]]


def write_dataset(
    output_dir: str | Path, splits: dict[str, pd.DataFrame], info: DatasetInfo, *, inputs=(), overwrite: bool = False
) -> Path:
    """Write the splits and dataset.json atomically; row counts are filled in here.
    `inputs` and `overwrite` guard what the output may replace (see atomic.check_output_dir)."""
    with atomic_dir(output_dir, inputs=inputs, overwrite=overwrite) as tmp:
        info.rows = {}
        for name, frame in splits.items():
            if frame is None:
                continue
            frame.reset_index(drop=True).to_parquet(tmp / f"{name}.parquet", index=False)
            info.rows[name] = len(frame)
        (tmp / INFO_FILE).write_text(
            json.dumps(dataclasses.asdict(info), ensure_ascii=False, indent=2), encoding="utf-8"
        )
    return Path(output_dir)
