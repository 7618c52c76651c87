"""Export for serving: ONNX fp32 and int8, checked against PyTorch, a KServe manifest, a registry entry."""

from __future__ import annotations

import dataclasses

from nlpfactory.serving.export import ExportConfig
from nlpfactory.stages import Port, StageResult
from nlpfactory.tracking import NO_TRACKING, Tracker

SUMMARY = ("Export a classifier for serving (ONNX fp32 + int8, KServe manifest), check it, and register it "
           "in MLflow when a name is given. Returns models:/NAME@ALIAS, or \"\" when not registered.")
INPUTS = {
    "model": Port("The Model folder to export (a classifier, e.g. the distilled student)."),
    "dataset": Port("Optional Dataset whose dev split checks that int8 keeps the fp32 accuracy.", optional=True),
}
OUTPUTS = {"exported_model": Port("The export folder: model.onnx, model.int8.onnx, tokenizer, nlpfactory.json and a KServe manifest.")}
RECORDS = {"metrics": Port("The export checks: ONNX vs PyTorch logit difference, file sizes, fp32 and int8 dev accuracy.", "metrics")}

Config = ExportConfig


def with_output_uris(cfg: ExportConfig, uris: dict[str, str]) -> ExportConfig:
    """In a pipeline on a cluster, the output artifact's own URI is where KServe reads the
    export, unless a storage URI was given."""
    if cfg.storage_uri:
        return cfg
    from nlpfactory.serving.kserve import storage_uri_of

    return dataclasses.replace(cfg, storage_uri=storage_uri_of(uris["exported_model"]))


def run(cfg: ExportConfig, inputs: dict, outputs: dict, tracker: Tracker = NO_TRACKING) -> StageResult:
    from nlpfactory.serving.export import export

    result = export(cfg, inputs["model"], outputs["exported_model"], inputs.get("dataset"), tracker=tracker)
    meta = {"registered_model": result.registered_uri, "kserve_runtime": cfg.kserve_runtime}
    return StageResult(result.metrics, {"exported_model": meta}, value=result.registered_uri)
