"""How much a student keeps of its teacher: accuracy (entity F1 for taggers), size and latency
side by side."""

from __future__ import annotations

import dataclasses

from nlpfactory.config import option
from nlpfactory.stages import Port, StageResult
from nlpfactory.tracking import NO_TRACKING, Tracker

SUMMARY = "Compare a student with its teacher: how much accuracy (or entity F1) it keeps, how much smaller and faster it is."
INPUTS = {
    "teacher": Port("The teacher Model folder."),
    "student": Port("The student Model folder."),
    "dataset": Port("The Dataset whose texts are timed."),
    "teacher_metrics": Port("The teacher's evaluation (its accuracy, or a tagger's entity F1, is reported).", "metrics"),
    "student_metrics": Port("The student's evaluation (its accuracy, or a tagger's entity F1, is reported).", "metrics"),
}
OUTPUTS: dict[str, Port] = {}
RECORDS = {
    "report": Port("The comparison table: accuracy (entity F1 and F1 per type for taggers), parameters, size on disk and latency per sample.", "report"),
    "metrics": Port("The same numbers, and the ratios between student and teacher.", "metrics"),
}


@dataclasses.dataclass
class CompareConfig:
    latency_samples: int = option(50, "How many test texts to time one at a time for the latency per sample.")
    split: str = option("test", "Which split's texts are timed.")


Config = CompareConfig


def run(cfg: CompareConfig, inputs: dict, outputs: dict, tracker: Tracker = NO_TRACKING) -> StageResult:
    from nlpfactory.distill.compare import compare_models

    result, text = compare_models(cfg, inputs["teacher"], inputs["student"], inputs["dataset"],
                                  inputs["teacher_metrics"], inputs["student_metrics"], tracker=tracker)
    metrics = {f"{who}_{k}": v for who in ("teacher", "student") for k, v in result[who].items()}
    return StageResult(metrics | result["ratios"], report=text)
