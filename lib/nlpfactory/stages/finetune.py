"""Fine-tune a model into a classifier: the teacher of the distillation recipes, or a baseline."""

from __future__ import annotations

import dataclasses

from nlpfactory.config import option
from nlpfactory.stages import Port, StageResult
from nlpfactory.tracking import NO_TRACKING, Tracker
from nlpfactory.train.config import (
    TrainConfig,
    dev_metric_option,
    nodes_option,
    nproc_per_node_option,
    vocab_size_option,
)
from nlpfactory.train.rates import auto_rate_option

SUMMARY = "Fine-tune a model into a classifier: the teacher of the distillation recipes."
INPUTS = {"dataset": Port("The prepared Dataset (train and dev splits are used).")}
OUTPUTS = {"trained_model": Port("The fine-tuned Model folder (loads with transformers' from_pretrained).")}
RECORDS = {"metrics": Port("Dev-split scores of the best epoch, parameter count and training speed.", "metrics")}


@dataclasses.dataclass
class FinetuneConfig(TrainConfig):
    learning_rate: float = auto_rate_option("teacher")
    model: str = option("auto", "Model to start from: auto (the cached zh-small backbone, else the small preset from scratch), a preset (tiny, small, base), a local Model folder, or a hub id such as hfl/rbt3.")
    vocab_size: int = vocab_size_option()
    metric: str = dev_metric_option()
    nproc_per_node: int = nproc_per_node_option()
    nodes: int = nodes_option()


Config = FinetuneConfig


def run(cfg: FinetuneConfig, inputs: dict, outputs: dict, tracker: Tracker = NO_TRACKING) -> StageResult:
    from nlpfactory.finetune import finetune

    result = finetune(cfg, inputs["dataset"], outputs["trained_model"], tracker=tracker)
    metrics = {f"dev_{k}": v for k, v in result.dev_metrics.items()} | {
        "parameters": result.parameters, "train_samples_per_second": round(result.fit.samples_per_second, 2)}
    return StageResult(metrics, {"trained_model": {"base_model": cfg.model, "parameters": result.parameters}})
