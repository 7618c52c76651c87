"""`--settings cluster.yaml` at compile time: the compiled pipeline spec and platform spec,
loaded back with kfp, carry the settings on every task; bad settings are refused clearly."""

from __future__ import annotations

import json

import pytest
import yaml
from google.protobuf import json_format
from kfp import components
from kfp.kubernetes import kubernetes_executor_config_pb2 as k8s
from kfp.pipeline_spec import pipeline_spec_pb2

from nlpfactory.cluster.stage_job import ENV_TRAINING_JOB
from nlpfactory.errors import InputError
from nlpfactory.pipelines import registry
from nlpfactory.pipelines.settings import TRAINING_STAGES, compile_pipeline

FULL = """
image: registry.example.com/ml/nlpfactory:0.1.0-gpu
tracking: {config_map: mlflow-tracking, secret: mlflow-credentials,
           secret_keys: [MLFLOW_TRACKING_TOKEN, AWS_ACCESS_KEY_ID]}
resources:
  default: {cpu: "1", memory: 2Gi}
  finetune: {cpu: "4", cpu_limit: "8", memory: 16Gi, memory_limit: 24Gi}
gpu: {count: 2, type: nvidia.com/gpu}
cache_pvc: {name: nlpfactory-cache}
node_selector: {nodepool: ml}
tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
retries: 3
caching: false
"""


def compiled(tmp_path, name: str, settings_text: str | None):
    """(pipeline spec, {executor label: kubernetes config}, {task: component}) as kfp reads them."""
    settings = None
    if settings_text is not None:
        settings = tmp_path / "cluster.yaml"
        settings.write_text(settings_text)
    path = compile_pipeline(name, tmp_path / f"{name}.yaml", settings)
    components.load_component_from_file(str(path))  # kfp itself accepts the file
    pipeline_doc, *platform_docs = yaml.safe_load_all(path.read_text())
    spec = json_format.ParseDict(pipeline_doc, pipeline_spec_pb2.PipelineSpec())
    platform = json_format.ParseDict(platform_docs[0], pipeline_spec_pb2.PlatformSpec()) if platform_docs else None
    executors = {}
    if platform:
        for label, config in platform.platforms["kubernetes"].deployment_spec.executors.items():
            executors[label] = json_format.ParseDict(json_format.MessageToDict(config),
                                                     k8s.KubernetesExecutorConfig())
    return spec, executors


def containers(spec):
    return spec.deployment_spec["executors"]


def executor_stage(spec) -> dict[str, str]:
    """executor label -> stage (component name) of each task."""
    out = {}
    for task in spec.root.dag.tasks.values():
        label = spec.components[task.component_ref.name].executor_label
        out[label] = task.component_ref.name.removeprefix("comp-").rsplit("-", 1)[0] \
            if task.component_ref.name[-1].isdigit() else task.component_ref.name.removeprefix("comp-")
    return out


@pytest.mark.parametrize("name", registry.names())
def test_every_task_tracks_to_the_configmap_and_secret(tmp_path, name):
    spec, executors = compiled(tmp_path, name, FULL)

    labels = set(containers(spec))
    assert labels and set(executors) == labels
    for config in executors.values():
        [cm] = config.config_map_as_env
        assert cm.config_map_name == "mlflow-tracking"
        assert [(kv.config_map_key, kv.env_var) for kv in cm.key_to_env] == [("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_URI")]
        [secret] = config.secret_as_env
        assert secret.secret_name == "mlflow-credentials"
        assert {kv.env_var for kv in secret.key_to_env} == {"MLFLOW_TRACKING_TOKEN", "AWS_ACCESS_KEY_ID"}
        assert [(p.constant, p.mount_path) for p in config.pvc_mount] == [("nlpfactory-cache", "/var/cache/nlpfactory")]
        assert dict(config.node_selector.labels) == {"nodepool": "ml"}
        [toleration] = config.tolerations
        assert (toleration.key, toleration.operator, toleration.effect) == ("nvidia.com/gpu", "Exists", "NoSchedule")


def test_resources_gpus_image_retries_and_caching_reach_the_right_tasks(tmp_path):
    spec, _ = compiled(tmp_path, "finetune", FULL)
    stages = executor_stage(spec)

    for label, executor in containers(spec).items():
        container = executor["container"]
        stage = stages[label]
        resources = container["resources"]
        assert container["image"] == "registry.example.com/ml/nlpfactory:0.1.0-gpu"
        if stage == "finetune":
            assert (resources["cpuRequest"], resources["cpuLimit"]) == (4.0, 8.0)
            assert resources["memoryLimit"] == pytest.approx(24 * 2**30 / 1e9)
        else:
            assert (resources["cpuRequest"], resources["cpuLimit"]) == (1.0, 1.0)
        has_gpu = "accelerator" in resources
        assert has_gpu == (stage in TRAINING_STAGES), stage
        if has_gpu:
            assert resources["accelerator"]["resourceType"] == "nvidia.com/gpu"
            assert resources["accelerator"]["resourceCount"] == "2"
    for task in spec.root.dag.tasks.values():
        assert task.retry_policy.max_retry_count == 3
        assert task.caching_options.enable_cache is False
    assert set(stages.values()) >= {"finetune", "prepare-data", "evaluate", "export"}


def test_without_a_settings_file_every_task_still_tracks_to_the_configmap(tmp_path):
    spec, executors = compiled(tmp_path, "finetune", None)

    assert set(executors) == set(containers(spec))
    assert all(config.config_map_as_env[0].config_map_name == "mlflow-tracking" for config in executors.values())


def test_pod_local_tracking_is_said_explicitly(tmp_path):
    _, executors = compiled(tmp_path, "finetune", "tracking: {pod_local: true}")

    assert not any(config.config_map_as_env or config.secret_as_env for config in executors.values())


@pytest.mark.parametrize("text, named, valid", [
    ("imag: x", "'imag'", "valid keys: image, tracking, resources"),
    ("tracking: {configmap: m}", "'configmap'", "valid keys: config_map"),
    ("resources: {trainer: {cpu: '2'}}", "'trainer'", "finetune"),
    ("resources: {finetune: {gpus: 1}}", "'gpus'", "valid keys: cpu, cpu_limit, memory, memory_limit"),
    ("retries: two", "retries", "whole number"),
    ("caching: maybe", "caching", "true or false"),
])
def test_unknown_or_bad_settings_are_refused_with_the_valid_ones(tmp_path, text, named, valid):
    with pytest.raises(InputError) as err:
        compiled(tmp_path, "finetune", text)

    message = str(err.value)
    assert "cluster.yaml" in message and named in message and valid in message


def test_upload_and_submit_send_the_pipeline_with_its_cluster_settings(tmp_path, monkeypatch, capsys):
    from fake_kfp import FakeKubeflow

    from nlpfactory.pipelines.cli import main

    monkeypatch.delenv("KFP_HOST", raising=False)
    settings = tmp_path / "cluster.yaml"
    settings.write_text("tracking: {config_map: team-mlflow}\nretries: 2\n")
    with FakeKubeflow(run_state="SUCCEEDED") as kubeflow:
        assert main(["upload", "finetune", "--host", kubeflow.url, "--settings", str(settings)]) == 0
        assert main(["submit", "finetune", "--host", kubeflow.url, "--settings", str(settings)]) == 0
    [uploaded] = kubeflow.uploads
    assert "configMapName: team-mlflow" in uploaded["text"] and "maxRetryCount: 2" in uploaded["text"]
    [run] = kubeflow.runs
    assert "team-mlflow" in str(run)
    assert "uploaded pipeline 'finetune'" in capsys.readouterr().out


def test_a_task_that_may_scale_out_carries_its_training_job_settings(tmp_path):
    spec, _ = compiled(tmp_path, "finetune", FULL + "training_job: {namespace: team-a, timeout_hours: 2}\n")
    stages = executor_stage(spec)

    executors = json_format.MessageToDict(spec.deployment_spec)["executors"]
    jobs = {stages[label]: json.loads(env["value"]) for label, executor in executors.items()
            for env in executor["container"].get("env", []) if env["name"] == ENV_TRAINING_JOB}
    assert set(jobs) == {"finetune"}  # the only stage with a `nodes` parameter
    assert jobs["finetune"] == {
        "image": "registry.example.com/ml/nlpfactory:0.1.0-gpu", "namespace": "team-a", "service_account": "",
        "gpus_per_node": 2, "gpu_resource": "nvidia.com/gpu", "cpu": "4", "memory": "16Gi",
        "shared_pvc": "nlpfactory-cache", "shared_path": "/var/cache/nlpfactory",
        "env_from_config_map": "mlflow-tracking", "timeout_seconds": 7200.0}
