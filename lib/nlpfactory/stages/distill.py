"""Distillation: a small student learns from a frozen teacher (vanilla KD or MetaKD)."""

from __future__ import annotations

from nlpfactory.distill.config import DistillConfig
from nlpfactory.stages import Port, StageResult
from nlpfactory.tracking import NO_TRACKING, Tracker

SUMMARY = "Distill a small student from a frozen teacher: vanilla KD or MetaKD, optionally for one domain."
INPUTS = {
    "dataset": Port("The prepared Dataset (train rows to learn from, dev rows to pick the best epoch)."),
    "teacher": Port("The teacher Model folder (a meta-teacher for method metakd); it is not changed."),
}
OUTPUTS = {"student_model": Port("The distilled student: a plain classifier Model folder with the teacher's tokenizer.")}
RECORDS = {"metrics": Port("The student's dev scores, its parameter count and the teacher's.", "metrics")}

Config = DistillConfig


def run(cfg: DistillConfig, inputs: dict, outputs: dict, tracker: Tracker = NO_TRACKING) -> StageResult:
    from nlpfactory.distill.run import distill

    result = distill(cfg, inputs["dataset"], inputs["teacher"], outputs["student_model"], tracker=tracker)
    return StageResult(result.metrics(), {"student_model": {"method": cfg.method, "domain": cfg.domain,
                                                            "parameters": result.parameters}})
