"""Backbone: pretrain a Chinese backbone (zh-small or zh-tiny) on the zh-pretrain corpus, or
reuse the cached one. The config lives with the recipes in `nlpfactory.backbones`, which is
light (no torch at module level)."""

from __future__ import annotations

from nlpfactory.backbones import BackboneConfig
from nlpfactory.stages import Port, StageResult
from nlpfactory.tracking import NO_TRACKING, Tracker

SUMMARY = "Pretrain a Chinese backbone on the zh-pretrain corpus (masked-LM, whole-word masking), or reuse the cached one."
INPUTS: dict[str, Port] = {}
OUTPUTS = {"backbone": Port("The pretrained backbone: a Model folder with an MLM head that every stage accepts as its model.")}
RECORDS = {"metrics": Port("Held-out MLM accuracy and perplexity, steps and training time.", "metrics")}

Config = BackboneConfig


def run(cfg: BackboneConfig, inputs: dict, outputs: dict, tracker: Tracker = NO_TRACKING) -> StageResult:
    from nlpfactory.backbones import build_into

    # A cached backbone is reused as it is; a new one is built by the pretrain stage, whose
    # own tracking is the backbone's (the build key, not a pipeline run, identifies it).
    card = build_into(cfg, outputs["backbone"])
    if not card:  # a rank other than 0 under torchrun: rank 0's result is the stage's
        return StageResult()
    metrics = {k: v for k, v in card["mlm_metrics"].items() if isinstance(v, (int, float))}
    return StageResult(metrics | {"parameters": card["parameters"]},
                       {"backbone": {"backbone": card["backbone"]["name"], "key": card["backbone"]["key"],
                                     "parameters": card["parameters"], "kind": "mlm"}})
