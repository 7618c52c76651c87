"""The pipelines nlpfactory ships, by the name users type (`nlpfactory run NAME`)."""

from __future__ import annotations

import importlib

# name -> "module:function"; imported on demand so one broken pipeline can't hide the others.
PIPELINES: dict[str, str] = {
    "finetune": "nlpfactory.pipelines.finetune:finetune_pipeline",
    "landing": "nlpfactory.pipelines.landing:landing_pipeline",
    "fewshot": "nlpfactory.pipelines.fewshot:fewshot_pipeline",
    "distill": "nlpfactory.pipelines.distill:distill_pipeline",
    "metakd": "nlpfactory.pipelines.metakd:metakd_pipeline",
    "backbone": "nlpfactory.pipelines.backbone:backbone_pipeline",
}


def names() -> list[str]:
    return sorted(PIPELINES)


def get(name: str):
    if name not in PIPELINES:
        raise KeyError(f"unknown pipeline {name!r}; choose one of: {', '.join(names())}")
    module, attr = PIPELINES[name].split(":")
    return getattr(importlib.import_module(module), attr)
