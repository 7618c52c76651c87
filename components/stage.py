"""The body every component shares: build the stage's config from the form's values, run the
stage with a tracker built from the environment, and record what it made in KFP's artifacts.

A component's own body is one call to `run_component(name, locals())`, so every component
records its results the same way.
"""

from __future__ import annotations

from typing import Any

from nlpfactory.stages import StageResult


def run_component(name: str, params: dict[str, Any]) -> StageResult:
    from nlpfactory import stages
    from nlpfactory.config import from_params
    from nlpfactory.tracking import MlflowTracker, install_kill_handler

    install_kill_handler()  # a cancelled run's SIGTERM closes the MLflow run as KILLED
    stage = stages.get(name)
    cfg = from_params(stage.Config, params)
    if hasattr(stage, "with_output_uris"):  # what only a pipeline knows: where its outputs live
        cfg = stage.with_output_uris(cfg, {n: params[n].uri for n in stage.OUTPUTS})
    inputs = {n: _value(params.get(n)) for n in stage.INPUTS}
    outputs = {n: params[n].path for n in stage.OUTPUTS}
    result = stages.execute(name, cfg, inputs, outputs, MlflowTracker.from_env())
    for n, port in stage.RECORDS.items():
        _record(result, params[n], port.kind)
    for n, facts in result.metadata.items():
        params[n].metadata.update(facts)
    _skip_final_collection()
    return result


def _skip_final_collection() -> None:
    """A task process ends right after its stage. With torch, transformers and MLflow loaded,
    the garbage collection at interpreter exit walks millions of objects for nothing (1-2 s
    per task, measured by bench/pipeline_overhead.py); frozen objects are left out of it.
    Exit handlers still run, and the exit status is untouched."""
    import gc

    gc.freeze()


def _value(artifact):
    """An input artifact as the stage reads it: a folder path, or a Metrics' numbers."""
    if artifact is None:
        return None
    if isinstance(artifact, list):
        return [_value(a) for a in artifact]
    if artifact.schema_title == "system.Metrics":
        return dict(artifact.metadata)
    return artifact.path


def _record(result: StageResult, artifact, kind: str) -> None:
    if kind == "metrics":
        for key, value in result.metrics.items():
            artifact.log_metric(key, value)
    elif kind == "confusion" and result.confusion:
        artifact.log_confusion_matrix(*result.confusion)
    elif kind == "report":
        with open(artifact.path, "w", encoding="utf-8") as f:
            f.write(result.report)
