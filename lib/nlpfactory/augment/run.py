"""The augment stage: a Dataset in, a larger Dataset out.

Only the train split grows; dev and test are copied as they are, so scores stay comparable.
Teacher `logits` are dropped from the train split: a copy needs soft labels of its own.
Every train row gets a `source_id`: an original row keeps its own id (its row number, or the
`source_id` it already had), its augmented copies carry the same id, and the `augmented`
column tells them apart. Labels are never changed.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from pathlib import Path

import pandas as pd

from nlpfactory.augment.eda import eda
from nlpfactory.augment.filter import teacher_agrees
from nlpfactory.augment.mlm import mlm_augment
from nlpfactory.config import to_dict
from nlpfactory.data.dataset import SPLITS, has_split, load_split, read_info, write_dataset
from nlpfactory.errors import InputError
from nlpfactory.models.labels import check_labels_match
from nlpfactory.stages.augment_data import AugmentConfig
from nlpfactory.tracking import NO_TRACKING, Tracker

log = logging.getLogger(__name__)


@dataclasses.dataclass
class AugmentResult:
    output_dir: Path
    metrics: dict[str, float]


def _with_ids(train: pd.DataFrame) -> pd.DataFrame:
    train = train.reset_index(drop=True).copy()
    if "logits" in train:
        # A copy's text differs from its original's, so the original's soft labels would lie.
        log.warning("dropping the 'logits' column: soft-label the augmented Dataset again")
        train = train.drop(columns="logits")
    if "source_id" not in train:
        train["source_id"] = range(len(train))
    train["augmented"] = False
    return train


def _copies(cfg: AugmentConfig, originals: pd.DataFrame, mlm) -> pd.DataFrame:
    """`expansion` copies of every row, grouped copy by copy, with the text rewritten."""
    rng = random.Random(cfg.seed)
    copies = pd.concat([originals] * cfg.expansion, ignore_index=True)
    texts = copies["text"].astype(str).tolist()
    if cfg.method == "eda":
        new_texts = [eda(t, cfg.mask_ratio, rng, cfg.eda_operations) for t in texts]
    else:
        model, tokenizer = mlm
        new_texts = mlm_augment(texts, model, tokenizer, ratio=cfg.mask_ratio, rng=rng,
                                top_k=cfg.top_k, max_length=cfg.max_length)
    copies["text"] = new_texts
    copies["augmented"] = True
    return copies


def _mlm_filler(mlm_model, train: pd.DataFrame):
    """(model, tokenizer) from a folder, hub id or preset name, or as given."""
    if mlm_model is None:
        raise InputError("method 'mlm' needs a masked language model to refill the masked words",
                         column="mlm_model",
                         fix="pass a Model folder with an MLM head (e.g. the pretrain stage's output), "
                             "or use method 'eda'")
    if isinstance(mlm_model, tuple):
        return mlm_model
    from nlpfactory.models.load import load_model
    from nlpfactory.train.loop import device_for

    model, tokenizer, _ = load_model(str(mlm_model), head="mlm", texts=lambda: train["text"].astype(str))
    return model.to(device_for()), tokenizer


def _teacher(cfg: AugmentConfig, teacher, labels: list[str]):
    if teacher is None and cfg.teacher_filter:
        from nlpfactory.predictor import load_predictor

        teacher = load_predictor(cfg.teacher_filter)
    if teacher is not None:  # the filter compares label names, so their order may differ
        check_labels_match(teacher.labels, labels, model=cfg.teacher_filter or "teacher", role="teacher filter",
                           ordered=False)
    return teacher


def augment_dataset(cfg: AugmentConfig, dataset_dir: str | Path, output_dir: str | Path,
                    mlm_model=None, teacher=None, *, tracker: Tracker = NO_TRACKING) -> AugmentResult:
    """Write an augmented copy of the Dataset at `dataset_dir` to `output_dir`.

    `mlm_model`: for method mlm, a Model folder / hub id / preset with an MLM head, or a
    loaded (model, tokenizer) pair. `teacher`: a Predictor used as the teacher filter
    (overrides `cfg.teacher_filter`).
    """
    info = read_info(dataset_dir)
    originals = _with_ids(load_split(dataset_dir, "train"))
    teacher = _teacher(cfg, teacher, info.labels)
    mlm = _mlm_filler(mlm_model, originals) if cfg.method == "mlm" else None
    with tracker.stage_run("augment_data", to_dict(cfg)) as run:
        started = time.perf_counter()
        copies = _copies(cfg, originals, mlm)
        made = len(copies)
        if teacher is not None:
            copies = copies[teacher_agrees(copies, teacher)]
        train = pd.concat([originals, copies] if cfg.keep_original else [copies], ignore_index=True)
        splits = {"train": train}
        splits.update({s: load_split(dataset_dir, s) for s in SPLITS if s != "train" and has_split(dataset_dir, s)})
        info.source = {"augmented_from": info.source, "augment": to_dict(cfg),
                       "mlm_model": str(mlm_model) if isinstance(mlm_model, (str, Path)) else ""}
        write_dataset(output_dir, splits, info)
        metrics = {
            "original_rows": float(len(originals)),
            "augmented_rows_made": float(made),
            "augmented_rows_kept": float(len(copies)),
            "filtered_out": float(made - len(copies)),
            "train_rows": float(len(train)),
            "augment_seconds": time.perf_counter() - started,
        }
        run.log_metrics(metrics)
    log.info("augmented %d rows into %d (%d copies dropped by the teacher filter)",
             len(originals), len(train), made - len(copies))
    return AugmentResult(Path(output_dir), metrics)
