"""Few-shot prompt learning: a classifier from K labelled rows per class (PET, P-Tuning, CP-Tuning)."""

from __future__ import annotations

import dataclasses

from nlpfactory.fewshot.config import FewshotConfig
from nlpfactory.stages import Port, StageResult
from nlpfactory.tracking import NO_TRACKING, Tracker

SUMMARY = "Learn a classifier from a few labelled rows per class by prompt learning (PET, P-Tuning or CP-Tuning)."
INPUTS = {
    "dataset": Port("The prepared Dataset: K rows per class are drawn from its train split (and dev, to pick the best epoch)."),
    "backbone": Port("Optional Model folder with a masked-LM head (e.g. the pretrain output); when given it replaces `model`.", optional=True),
}
OUTPUTS = {"trained_model": Port("The prompt-tuned Model folder; predicts like any classifier (nlpfactory predict, evaluate).")}
RECORDS = {"metrics": Port("Dev accuracy on the K-shot dev rows, parameter count and training rows.", "metrics")}

Config = FewshotConfig


def run(cfg: FewshotConfig, inputs: dict, outputs: dict, tracker: Tracker = NO_TRACKING) -> StageResult:
    from nlpfactory.fewshot.train import fewshot

    if inputs.get("backbone"):
        cfg = dataclasses.replace(cfg, model=str(inputs["backbone"]))
    result = fewshot(cfg, inputs["dataset"], outputs["trained_model"], tracker=tracker)
    metrics = {f"dev_{k}": v for k, v in result.dev_metrics.items()} | {
        "parameters": result.parameters, "train_rows": result.train_rows}
    return StageResult(metrics, {"trained_model": {"kind": cfg.method, "base_model": cfg.model,
                                                   "parameters": result.parameters}})
