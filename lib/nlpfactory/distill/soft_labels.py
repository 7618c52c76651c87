"""Soft labels: the teacher's logits written into a Dataset's `logits` column, so that data
labelled once (e.g. many augmented copies) can be distilled from without running the
teacher again."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from nlpfactory.config import to_dict
from nlpfactory.data.dataset import SPLITS, has_split, load_split, read_info, write_dataset
from nlpfactory.distill.config import SoftLabelConfig
from nlpfactory.errors import InputError
from nlpfactory.models.labels import check_labels_match
from nlpfactory.predictor import load_predictor
from nlpfactory.tracking import NO_TRACKING, Tracker


def teacher_logits(predictor, texts, texts_b=None) -> np.ndarray:
    """Logits when the model gives them; otherwise log-probabilities (the same softmax)."""
    if hasattr(predictor, "logits"):
        return predictor.logits(texts, texts_b)
    return np.log(np.clip(predictor.predict_proba(texts, texts_b), 1e-12, None))


def write_soft_labels(cfg: SoftLabelConfig, dataset_dir: str | Path, teacher_dir: str | Path,
                      output_dir: str | Path, *, tracker: Tracker = NO_TRACKING) -> dict[str, int]:
    """Copy the Dataset with the teacher's logits on the rows of `cfg.splits`; returns the
    number of rows labelled per split."""
    info = read_info(dataset_dir)
    unknown = [s for s in cfg.splits if not has_split(dataset_dir, s)]
    if unknown:
        raise InputError(f"the Dataset has no {unknown} split", file=str(dataset_dir), column="splits",
                         fix=f"choose among {[s for s in SPLITS if has_split(dataset_dir, s)]}")
    with tracker.stage_run("soft_label", to_dict(cfg) | {"teacher": str(teacher_dir)}) as run:
        predictor = load_predictor(teacher_dir)
        predictor.batch_size = cfg.batch_size
        check_labels_match(predictor.labels, info.labels, model=str(Path(teacher_dir) / "nlpfactory.json"),
                           role="teacher")
        splits, labelled = {}, {}
        for split in (s for s in SPLITS if has_split(dataset_dir, s)):
            frame = load_split(dataset_dir, split)
            if split in cfg.splits:
                texts_b = frame["text_b"].tolist() if info.is_pair else None
                frame["logits"] = [row.tolist() for row in teacher_logits(predictor, frame["text"].tolist(), texts_b).astype(float)]
                labelled[split] = len(frame)
            splits[split] = frame
        info = dataclasses.replace(info, source={**info.source, "soft_labels": {"teacher": str(teacher_dir), "splits": list(labelled)}})
        write_dataset(output_dir, splits, info)
        run.log_metrics({f"labelled_{s}": n for s, n in labelled.items()})
        run.log_text(f"# Soft labels\n\nTeacher `{teacher_dir}` wrote its logits on "
                     + ", ".join(f"{n} {s} rows" for s, n in labelled.items()) + ".\n", "report.md")
    return labelled
