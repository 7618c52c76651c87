"""Score a model on a Dataset split: metrics, a confusion matrix and a report."""

from __future__ import annotations

import dataclasses

from nlpfactory.config import option
from nlpfactory.stages import Port, StageResult
from nlpfactory.tracking import NO_TRACKING, Tracker

SUMMARY = "Score a model on a Dataset split and write metrics, a confusion matrix and a report."
INPUTS = {"model": Port("The Model folder to score."), "dataset": Port("The Dataset whose split is scored.")}
OUTPUTS: dict[str, Port] = {}
RECORDS = {
    "metrics": Port("Accuracy, macro-F1, per-class F1 and per-domain accuracy.", "metrics"),
    "confusion": Port("The confusion matrix, shown as a chart in the Kubeflow UI.", "confusion"),
    "report": Port("A readable report: per-class and per-domain tables and the confusion matrix.", "report"),
}


@dataclasses.dataclass
class EvaluateConfig:
    split: str = option("test", "Which split of the Dataset to score: test, dev or train.")
    model_name: str = option("", "What to call the model in reports, e.g. teacher or student.")
    batch_size: int = option(64, "Examples per prediction batch.")
    domain: str = option("", "Score only the rows of this domain (empty: all rows).")


Config = EvaluateConfig


def run(cfg: EvaluateConfig, inputs: dict, outputs: dict, tracker: Tracker = NO_TRACKING) -> StageResult:
    from nlpfactory.evaluate import evaluate

    result = evaluate(cfg, inputs["model"], inputs["dataset"], tracker=tracker)
    return StageResult(result.scalars(), report=result.report,
                       confusion=(result.labels, result.metrics["confusion_matrix"]))
