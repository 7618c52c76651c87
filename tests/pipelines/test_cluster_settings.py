"""`--settings cluster.yaml` at compile time: the compiled pipeline spec and platform spec,
loaded back with kfp, carry the settings on every task; bad settings are refused clearly."""

from __future__ import annotations

import json
import re

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
training_job: {namespace: team-a, timeout_hours: 2}
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


@pytest.fixture(scope="module")
def compiled_full(tmp_path_factory):
    """name -> compiled(name, FULL), each pipeline compiled once for the tests that read it."""
    done = {}

    def get(name: str):
        if name not in done:
            done[name] = compiled(tmp_path_factory.mktemp(name), name, FULL)
        return done[name]

    return get


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
def test_every_task_tracks_to_the_configmap_and_secret(compiled_full, name):
    spec, executors = compiled_full(name)

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


def test_resources_gpus_image_retries_and_caching_reach_the_right_tasks(compiled_full):
    spec, _ = compiled_full("finetune")
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


@pytest.mark.parametrize(("name", "scaling"), [
    ("finetune", {"finetune"}), ("distill", {"finetune", "distill"}),
    ("metakd", {"meta-teacher", "distill"}), ("fewshot", {"pretrain", "fewshot"}),
])
def test_every_training_task_that_may_scale_out_carries_its_training_job_settings(compiled_full, name, scaling):
    spec, _ = compiled_full(name)

    executors = json_format.MessageToDict(spec.deployment_spec)["executors"]
    # Executor labels are exec-<component>[-N], also for tasks inside a loop.
    jobs = {re.sub(r"-\d+$", "", label.removeprefix("exec-")): json.loads(env["value"])
            for label, executor in executors.items()
            for env in executor["container"].get("env", []) if env["name"] == ENV_TRAINING_JOB}
    assert set(jobs) == scaling  # the training stages: those with a `nodes` parameter
    for stage, job in jobs.items():
        assert job["namespace"] == "team-a" and job["timeout_seconds"] == 7200.0
        assert job["tracking_secret"] == "mlflow-credentials" and job["gpus_per_node"] == 2
        assert (job["cpu"], job["cpu_limit"]) == (("4", "8") if stage == "finetune" else ("1", ""))


def test_the_training_jobs_pods_get_what_the_stages_task_gets(tmp_path, monkeypatch):
    """From the settings file to the PyTorchJob's pods: the manifest built from a finetune
    task's environment, read back into the training SDK's model."""
    from kubeflow.training import ApiClient

    from nlpfactory.cluster import stage_job
    from nlpfactory.cluster.pytorchjob import manifest
    from nlpfactory.pipelines.settings import parse, training_job

    settings = parse(yaml.safe_load(FULL) | {"training_job": {"namespace": "team-a", "service_account": "trainer"}})
    monkeypatch.setenv(stage_job.ENV_TRAINING_JOB, json.dumps(training_job("finetune", settings)))
    spec, timeout = stage_job.job_spec(nodes=3, nproc_per_node=2)

    class Reply:
        data = json.dumps(manifest("nlpfactory-finetune-abc123", spec, ["true"]))

    job = ApiClient().deserialize(Reply(), "KubeflowOrgV1PyTorchJob")
    assert timeout == 24 * 3600 and job.metadata.namespace == "team-a" and job.spec.nproc_per_node == "2"
    assert {k: v.replicas for k, v in job.spec.pytorch_replica_specs.items()} == {"Master": 1, "Worker": 2}
    for replica in job.spec.pytorch_replica_specs.values():
        pod = replica.template.spec
        [container] = pod.containers
        assert container.image == "registry.example.com/ml/nlpfactory:0.1.0-gpu"
        # The same MLflow variables as the KFP tasks: ConfigMap keys and Secret keys, one by one.
        sources = {e.name: e.value_from.config_map_key_ref or e.value_from.secret_key_ref for e in container.env}
        assert {n: (type(s).__name__, s.name, s.key) for n, s in sources.items()} == {
            "MLFLOW_TRACKING_URI": ("V1ConfigMapKeySelector", "mlflow-tracking", "MLFLOW_TRACKING_URI"),
            "MLFLOW_TRACKING_TOKEN": ("V1SecretKeySelector", "mlflow-credentials", "MLFLOW_TRACKING_TOKEN"),
            "AWS_ACCESS_KEY_ID": ("V1SecretKeySelector", "mlflow-credentials", "AWS_ACCESS_KEY_ID")}
        assert container.resources.requests == {"cpu": "4", "memory": "16Gi"}
        assert container.resources.limits == {"cpu": "8", "memory": "24Gi", "nvidia.com/gpu": "2"}
        assert pod.node_selector == {"nodepool": "ml"} and pod.service_account_name == "trainer"
        assert [(t.key, t.operator, t.effect, t.value) for t in pod.tolerations] == [
            ("nvidia.com/gpu", "Exists", "NoSchedule", None)]
        assert pod.volumes[0].persistent_volume_claim.claim_name == "nlpfactory-cache"
        assert container.volume_mounts[0].mount_path == "/var/cache/nlpfactory"


def test_pod_local_tracking_gives_the_training_job_no_tracking_variables():
    from nlpfactory.pipelines.settings import parse, training_job

    job = training_job("finetune", parse({"tracking": {"pod_local": True, "secret": "mlflow-credentials"}}))
    assert job["tracking_config_map"] == "" and job["tracking_secret"] == ""
