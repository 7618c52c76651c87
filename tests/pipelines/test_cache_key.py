"""A rerun with the same inputs can be served from KFP's cache: nothing that changes per run
(the run id, the job name) reaches what a task's cache key is computed from (its inputs and its
container: image, command, args, env). The tracking identity arrives by env var instead: the
pipeline name as a constant, the run id from the pod's label via the platform config."""

import json

import pytest
from google.protobuf import json_format

from nlpfactory.pipelines import registry
from nlpfactory.tracking import ENV_PIPELINE, ENV_PIPELINE_RUN_ID

PER_RUN = "{{$.pipeline_job"  # kfp's run placeholders: {{$.pipeline_job_uuid}}, _name, _resource_name


def _cache_relevant(pipeline_fn) -> dict:
    """Per task: its inputs; per executor: its container. What KFP's driver fingerprints."""
    spec = json_format.MessageToDict(pipeline_fn.pipeline_spec)
    dags = [spec["root"]["dag"]] + [c["dag"] for c in spec["components"].values() if "dag" in c]
    tasks = {name: task.get("inputs", {}) for dag in dags for name, task in dag["tasks"].items()}
    executors = spec["deploymentSpec"]["executors"]
    return {"tasks": tasks, "executors": {n: e["container"] for n, e in executors.items()}}


@pytest.mark.parametrize("name", registry.names())
def test_no_task_input_or_container_changes_from_run_to_run(name):
    relevant = json.dumps(_cache_relevant(registry.get(name)))
    assert PER_RUN not in relevant
    assert "pipeline_run_id" not in relevant and "pipeline_name" not in relevant


@pytest.mark.parametrize("name", registry.names())
def test_every_task_learns_its_tracking_identity_from_its_environment(name):
    pipeline_fn = registry.get(name)
    containers = _cache_relevant(pipeline_fn)["executors"]
    for executor, container in containers.items():
        assert {"name": ENV_PIPELINE, "value": name} in container.get("env", []), executor
    platform = json_format.MessageToDict(pipeline_fn.platform_spec)["platforms"]["kubernetes"]
    configs = platform["deploymentSpec"]["executors"]
    assert configs.keys() == containers.keys()
    for config in configs.values():
        assert {"name": ENV_PIPELINE_RUN_ID, "fieldPath": "metadata.labels['pipeline/runid']"} in config["fieldPathAsEnv"]


def test_two_compilations_are_the_same(tmp_path):
    from kfp import compiler

    texts = []
    for i in range(2):
        path = tmp_path / f"{i}.yaml"
        compiler.Compiler().compile(registry.get("finetune"), str(path))
        texts.append(path.read_text())
    assert texts[0] == texts[1]
