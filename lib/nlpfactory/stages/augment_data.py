"""Augmentation: a Dataset in, a larger Dataset out (only the train split grows)."""

from __future__ import annotations

import dataclasses

from nlpfactory.augment.eda import OPERATIONS
from nlpfactory.config import check_options, option
from nlpfactory.errors import ConfigError
from nlpfactory.stages import Port, StageResult
from nlpfactory.tracking import NO_TRACKING, Tracker

METHODS = ("eda", "mlm")
SUMMARY = "Make a larger training set: each row gets augmented copies with the same label."
INPUTS = {
    "dataset": Port("The Dataset whose train split is augmented (dev and test are copied unchanged)."),
    "mlm_model": Port("For method mlm: a Model folder with an MLM head (e.g. the pretrain step's output) that refills the masked words.", optional=True),
    "teacher": Port("Optional classifier used as the teacher filter (takes the place of teacher_filter).", optional=True),
}
OUTPUTS = {"augmented": Port("The augmented Dataset: originals and copies, each copy's source_id naming its original.")}
RECORDS = {"metrics": Port("Rows before and after, copies made and copies the teacher filter dropped.", "metrics")}


@dataclasses.dataclass
class AugmentConfig:
    method: str = option("mlm", "How new rows are made: 'mlm' (masked words refilled by a language model) or 'eda' (random word and character swaps, deletions, insertions).", choices=METHODS)
    expansion: int = option(10, "Augmented copies made from each training row.", least=1)
    mask_ratio: float = option(0.25, "Share of each text changed: masked and refilled (mlm), or swapped/deleted/inserted (eda).")
    eda_operations: list[str] = option(list(OPERATIONS), "EDA edits to draw from, one per copy: word_swap, word_delete, word_insert, char_swap, char_delete, char_insert.")
    top_k: int = option(20, "MLM refill samples from this many most likely tokens at each masked place.")
    teacher_filter: str = option("", "Classifier folder that must still predict a copy's original label for the copy to be kept (empty: keep all copies).")
    keep_original: bool = option(True, "Keep the original rows next to their augmented copies.")
    max_length: int = option(128, "Longest text in tokens the MLM reads; words past it are not changed.")
    seed: int = option(42, "Random seed: the same seed gives the same augmented rows.")

    def __post_init__(self):
        check_options(self)
        if not 0 < self.mask_ratio <= 1:
            raise ConfigError(f"mask_ratio is {self.mask_ratio}", option="mask_ratio", fix="use a share in (0, 1], e.g. 0.25")
        unknown = [op for op in self.eda_operations if op not in OPERATIONS]
        if unknown or not self.eda_operations:
            raise ConfigError(f"unknown or no EDA operations: {unknown or '[]'}", option="eda_operations",
                              fix=f"choose from {', '.join(OPERATIONS)}")


Config = AugmentConfig


def run(cfg: AugmentConfig, inputs: dict, outputs: dict, tracker: Tracker = NO_TRACKING) -> StageResult:
    from nlpfactory.augment.run import augment_dataset

    teacher = None
    if inputs.get("teacher"):
        from nlpfactory.predictor import load_predictor

        teacher = load_predictor(inputs["teacher"])
    result = augment_dataset(cfg, inputs["dataset"], outputs["augmented"], mlm_model=inputs.get("mlm_model"),
                             teacher=teacher, tracker=tracker)
    return StageResult(result.metrics, {"augmented": {"method": cfg.method, "train_rows": int(result.metrics["train_rows"])}})
