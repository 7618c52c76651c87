"""Soft labels: the teacher's logits written into a Dataset, so a student learns without the teacher."""

from __future__ import annotations

from nlpfactory.distill.config import SoftLabelConfig
from nlpfactory.stages import Port, StageResult
from nlpfactory.tracking import NO_TRACKING, Tracker

SUMMARY = "Write the teacher's logits into the Dataset, so a student can learn from them without the teacher."
INPUTS = {
    "dataset": Port("The Dataset to label (e.g. augmented rows)."),
    "teacher": Port("The teacher Model folder whose logits become the soft labels."),
}
OUTPUTS = {"labelled": Port("The same Dataset with the teacher's logits in a logits column.")}
RECORDS: dict[str, Port] = {}

Config = SoftLabelConfig


def run(cfg: SoftLabelConfig, inputs: dict, outputs: dict, tracker: Tracker = NO_TRACKING) -> StageResult:
    from nlpfactory.distill.soft_labels import write_soft_labels

    counts = write_soft_labels(cfg, inputs["dataset"], inputs["teacher"], outputs["labelled"], tracker=tracker)
    return StageResult({f"labelled_{s}": n for s, n in counts.items()}, {"labelled": {"soft_labels": counts}})
