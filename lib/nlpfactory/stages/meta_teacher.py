"""MetaKD's meta-teacher: one classifier trained on every domain, with a domain branch."""

from __future__ import annotations

from nlpfactory.distill.config import MetaTeacherConfig
from nlpfactory.stages import Port, StageResult
from nlpfactory.tracking import NO_TRACKING, Tracker

SUMMARY = "Train a MetaKD meta-teacher on all domains at once, for per-domain students to learn from."
INPUTS = {"dataset": Port("The prepared multi-domain Dataset (a domain column with at least two domains).")}
OUTPUTS = {"meta_teacher": Port("The meta-teacher Model folder: a classifier plus its domain branch and the rows' prototype scores.")}
RECORDS = {"metrics": Port("Dev scores of the best epoch, parameter count and each domain's mean prototype score.", "metrics")}

Config = MetaTeacherConfig


def run(cfg: MetaTeacherConfig, inputs: dict, outputs: dict, tracker: Tracker = NO_TRACKING) -> StageResult:
    from nlpfactory.distill.meta_teacher import train_meta_teacher

    result = train_meta_teacher(cfg, inputs["dataset"], outputs["meta_teacher"], tracker=tracker)
    metrics = {f"dev_{k}": v for k, v in result.dev_metrics.items()} | {"parameters": result.parameters}
    metrics |= {f"prototype_score_{d}": s for d, s in result.mean_prototype_score.items()}
    return StageResult(metrics, {"meta_teacher": {"base_model": cfg.model, "parameters": result.parameters,
                                                  "domains": list(result.mean_prototype_score)}})
