"""How every task of a pipeline learns its tracking identity (the pipeline's name and run id)
without either becoming a task parameter.

A parameter that changes every run (the run id) would change every task's KFP cache key, so
a rerun with the same inputs could never be served from the cache. Instead:

- the pipeline's name is a constant environment variable of each task (the same every run);
- on a cluster, the run id is read from the pod's `pipeline/runid` label through the
  Kubernetes downward API (kfp-kubernetes' field-path env), which lives in the platform
  config, not in the container spec the cache key is computed from;
- locally, `nlpfactory run` puts a fresh run id in the environment the task subprocesses
  inherit (pipelines/local.py).
"""

from __future__ import annotations

from kfp import kubernetes
from kfp.dsl import pipeline_context

from nlpfactory.pipelines import kfp_setters  # noqa: F401 - every pipeline's setters cheap (see there)
from nlpfactory.tracking import ENV_PIPELINE, ENV_PIPELINE_RUN_ID

RUN_ID_FIELD = "metadata.labels['pipeline/runid']"


def identify_tasks(pipeline_name: str) -> None:
    """Give every task defined so far in the pipeline being built its tracking identity; call
    it last in the pipeline function."""
    for task in pipeline_context.Pipeline.get_default_pipeline().tasks.values():
        task.set_env_variable(ENV_PIPELINE, pipeline_name)
        kubernetes.use_field_path_as_env(task, env_name=ENV_PIPELINE_RUN_ID, field_path=RUN_ID_FIELD)
