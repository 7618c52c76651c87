"""Run a component's own body as its pipeline task would, without a runner: folder inputs go in
as KFP artifacts and what the body records comes back as KFP artifact objects. A pipeline run
adds only the runner (held once per runner by the end-to-end runs) and the wiring (held on the
compiled DAG, tests/pipelines/test_pipeline_dags.py)."""

from __future__ import annotations

from pathlib import Path

from kfp import dsl

_RECORDED = {"metrics": dsl.Metrics, "report": dsl.Markdown, "confusion": dsl.ClassificationMetrics}


def run_task(name: str, out: Path, inputs: dict, **options):
    """(the body's return value, {output or record name: artifact}) of component `name`.
    `inputs`: port -> a folder path (a Model or Dataset) or a dict of numbers (a Metrics)."""
    from nlpfactory import stages
    from nlpfactory.pipelines.compile import components

    stage = stages.get(name)
    out.mkdir(parents=True, exist_ok=True)
    given = {port: _artifact(port, value, out) for port, value in inputs.items()}
    made = {port: dsl.Artifact(name=port, uri=str(out / port)) for port in stage.OUTPUTS}
    made |= {port: _RECORDED[spec.kind](name=port, uri=str(out / port)) for port, spec in stage.RECORDS.items()}
    value = components()[name.replace("_", "-")].python_func(**given, **made, **options)
    return value, made


def _artifact(port: str, value, out: Path):
    if isinstance(value, dict):
        return dsl.Metrics(name=port, uri=str(out / f"{port}-in"), metadata=dict(value))
    return dsl.Artifact(name=port, uri=str(value))
