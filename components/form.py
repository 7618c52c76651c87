"""Fill a component's docstring `Args:` from its stage config, so the Kubeflow UI shows the
same one-sentence help as the CLI, from one source.

KFP ships only the function's own source to the container (decorators are dropped), so this
runs at definition time only.
"""

from __future__ import annotations

import inspect

from nlpfactory.config import describe

# Descriptions of the parameters every component shares (they are not stage options).
COMMON = {
    "pipeline_name": "Pipeline name; the MLflow experiment the run is logged to (set by the pipeline).",
    "pipeline_run_id": "KFP run id; groups this task's MLflow run under the pipeline's parent run (set by the pipeline).",
}


def form(*configs: type, **described: str):
    """Append an `Args:` section from the configs' field help (later configs win), then
    `described` (artifacts, pipeline-only parameters). Works for components and pipelines."""

    def decorate(func):
        help_for = {k: v for c in configs for k, v in describe(c).items()} | COMMON | described
        names = list(inspect.signature(func).parameters)
        missing = [n for n in names if n not in help_for]
        if missing:
            raise TypeError(f"{func.__name__}: parameters without a description: {missing}")
        lines = [inspect.cleandoc(func.__doc__ or func.__name__), "", "Args:"]
        lines += [f"    {n}: {help_for[n]}" for n in names]
        func.__doc__ = "\n".join(lines)
        return func

    return decorate
