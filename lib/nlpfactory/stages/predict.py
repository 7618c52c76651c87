"""Batch prediction: every row of a file or Dataset split labelled, streamed."""

from __future__ import annotations

import dataclasses

from nlpfactory.config import check_options, option
from nlpfactory.stages import Port, StageResult
from nlpfactory.tracking import NO_TRACKING, Tracker

PRECISIONS = ("auto", "int8", "fp32")
SUMMARY = "Label every row of a file or Dataset split with a model (batch inference, streamed)."
INPUTS = {
    "model": Port("The model: a Model folder (any kind) or an export folder (runs on ONNX Runtime)."),
    "data": Port("What to label: a Dataset folder (the chosen split) or one TSV, CSV, JSONL or Parquet file."),
}
OUTPUTS = {"predictions": Port("A folder with predictions.<ext>: the input's columns plus prediction and probabilities.")}
RECORDS = {"metrics": Port("How many rows were labelled, and how many got each label.", "metrics")}


@dataclasses.dataclass
class PredictConfig:
    batch_size: int = option(64, "How many rows the model predicts at once.", least=1)
    text_column: str = option("text", "The input column holding the text to classify.")
    text_b_column: str = option("", "The input column holding the second text of a pair; empty: text_b when the model takes pairs.")
    split: str = option("test", "When the input is a Dataset folder: which split to predict.")
    precision: str = option("auto", "For an export folder: int8, fp32, or auto (int8 when the export has it).", choices=PRECISIONS)
    device: str = option("auto", "Where to run the model: auto (a GPU when there is one), cpu or cuda.")
    encoding: str = option("utf-8", "Text encoding of the input file, e.g. utf-8 or gb18030.")

    def __post_init__(self):
        check_options(self)


Config = PredictConfig


def run(cfg: PredictConfig, inputs: dict, outputs: dict, tracker: Tracker = NO_TRACKING) -> StageResult:
    from nlpfactory.serving.predict_file import predict_to_folder

    with tracker.stage_run("predict", dataclasses.asdict(cfg)) as tracked:
        result = predict_to_folder(cfg, inputs["model"], inputs["data"], outputs["predictions"])
        metrics = {"rows": result.rows} | {f"predicted_{k}": n for k, n in result.label_counts.items()}
        tracked.log_metrics(metrics)
    return StageResult(metrics, {"predictions": {"file": result.path.name, "rows": result.rows}})
