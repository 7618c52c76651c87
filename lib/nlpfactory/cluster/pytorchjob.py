"""Train across nodes with the Kubeflow Training Operator: a PyTorchJob that runs a stage
function under torchrun in the nlpfactory image, followed to success, failure or timeout.

The call (function and arguments) and its result travel through a folder every pod mounts
(a ReadWriteMany PVC, e.g. the cache PVC of the cluster settings): the launcher writes
call.pkl there, the job's rank 0 writes result.pkl and the stage's artifact beside it, and
the launcher reads them back. The manifest is built from the training SDK's own models.
"""

from __future__ import annotations

import dataclasses
import pickle
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nlpfactory.errors import NlpFactoryError

GROUP, VERSION, PLURAL, KIND = "kubeflow.org", "v1", "pytorchjobs", "PyTorchJob"
CONTAINER = "pytorch"  # the operator finds the training container by this name


class TrainingJobError(NlpFactoryError):
    """A PyTorchJob failed, timed out, or could not be created."""

    def __init__(self, problem: str, *, fix: str = ""):
        super().__init__(f"{problem}\n  fix: {fix}" if fix else problem)


@dataclasses.dataclass
class JobSpec:
    """What the job asks of the cluster: the same image, tracking variables, resources and
    placement as the pipeline's own tasks get from the cluster settings file."""

    image: str
    namespace: str = "kubeflow"
    nodes: int = 2  # pods: one master and nodes-1 workers
    nproc_per_node: int = 1  # processes per pod (GPUs per pod on GPU nodes)
    gpus_per_node: int = 0
    gpu_resource: str = "nvidia.com/gpu"
    cpu: str = ""  # request; the limit is cpu_limit, else the request
    cpu_limit: str = ""
    memory: str = ""  # request; the limit is memory_limit, else the request
    memory_limit: str = ""
    shared_pvc: str = ""  # the PVC every pod mounts at shared_path
    shared_path: str = "/var/cache/nlpfactory"
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    # MLflow's address and credentials, key by key as the KFP tasks get them ("" for none).
    tracking_config_map: str = "mlflow-tracking"
    tracking_config_map_keys: list[str] = dataclasses.field(default_factory=lambda: ["MLFLOW_TRACKING_URI"])
    tracking_secret: str = ""
    tracking_secret_keys: list[str] = dataclasses.field(default_factory=list)
    node_selector: dict[str, str] = dataclasses.field(default_factory=dict)
    tolerations: list[dict] = dataclasses.field(default_factory=list)  # Kubernetes toleration fields
    backoff_limit: int = 0
    service_account: str = ""

    def __post_init__(self):
        if self.nodes < 1 or self.nproc_per_node < 1:
            raise ValueError("nodes and nproc_per_node must be at least 1")


def job_command(call_file: str, result_file: str) -> list[str]:
    """torchrun reads the node count, rank and master address from the PET_* variables that
    the operator sets on each pod when the job has nprocPerNode."""
    return ["python3", "-m", "torch.distributed.run", "-m", "nlpfactory.train.distributed",
            call_file, result_file]


def manifest(name: str, spec: JobSpec, command: list[str]) -> dict:
    """The PyTorchJob as a dict, built from kubeflow-training's models."""
    from kubeflow.training import (
        KubeflowOrgV1PyTorchJob,
        KubeflowOrgV1PyTorchJobSpec,
        KubeflowOrgV1ReplicaSpec,
        KubeflowOrgV1RunPolicy,
    )
    from kubernetes import client as k8s

    mounts, volumes = [], []
    if spec.shared_pvc:
        mounts.append(k8s.V1VolumeMount(name="shared", mount_path=spec.shared_path))
        volumes.append(k8s.V1Volume(name="shared", persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(
            claim_name=spec.shared_pvc)))
    container = k8s.V1Container(
        name=CONTAINER, image=spec.image, command=command, env=_env(spec) or None, resources=_resources(spec),
        volume_mounts=mounts or None)
    template = k8s.V1PodTemplateSpec(spec=k8s.V1PodSpec(
        containers=[container], volumes=volumes or None, service_account_name=spec.service_account or None,
        node_selector=spec.node_selector or None,
        tolerations=[k8s.V1Toleration(**t) for t in spec.tolerations] or None))

    def replicas(n: int) -> KubeflowOrgV1ReplicaSpec:
        return KubeflowOrgV1ReplicaSpec(replicas=n, restart_policy="OnFailure", template=template)

    replica_specs = {"Master": replicas(1)}
    if spec.nodes > 1:
        replica_specs["Worker"] = replicas(spec.nodes - 1)
    job = KubeflowOrgV1PyTorchJob(
        api_version=f"{GROUP}/{VERSION}", kind=KIND,
        metadata=k8s.V1ObjectMeta(name=name, namespace=spec.namespace, labels={"app": "nlpfactory"}),
        spec=KubeflowOrgV1PyTorchJobSpec(
            nproc_per_node=str(spec.nproc_per_node), pytorch_replica_specs=replica_specs,
            run_policy=KubeflowOrgV1RunPolicy(backoff_limit=spec.backoff_limit, clean_pod_policy="None")))
    return k8s.ApiClient().sanitize_for_serialization(job)


def _env(spec: JobSpec) -> list:
    from kubernetes import client as k8s

    env = [k8s.V1EnvVar(name=k, value=v) for k, v in spec.env.items()]
    if spec.tracking_config_map:
        env += [k8s.V1EnvVar(name=k, value_from=k8s.V1EnvVarSource(config_map_key_ref=k8s.V1ConfigMapKeySelector(
            name=spec.tracking_config_map, key=k))) for k in spec.tracking_config_map_keys]
    if spec.tracking_secret:
        env += [k8s.V1EnvVar(name=k, value_from=k8s.V1EnvVarSource(secret_key_ref=k8s.V1SecretKeySelector(
            name=spec.tracking_secret, key=k))) for k in spec.tracking_secret_keys]
    return env


def _resources(spec: JobSpec):
    from kubernetes import client as k8s

    # A limit defaults to the request, as on the pipeline's tasks: a pod without one may take the whole node.
    requests = {k: v for k, v in (("cpu", spec.cpu), ("memory", spec.memory)) if v}
    limits = {k: v for k, v in (("cpu", spec.cpu_limit or spec.cpu), ("memory", spec.memory_limit or spec.memory)) if v}
    if spec.gpus_per_node:
        limits[spec.gpu_resource] = str(spec.gpus_per_node)
    return k8s.V1ResourceRequirements(limits=limits or None, requests=requests or None)


def job_state(job: dict) -> tuple[str, str]:
    """(Succeeded | Failed | Running | Created | Restarting | Pending, message) from the
    job's newest true condition."""
    conditions = [c for c in (job.get("status") or {}).get("conditions") or [] if c.get("status") == "True"]
    if not conditions:
        return "Pending", ""
    newest = conditions[-1]
    return newest["type"], newest.get("message", "")


def follow(api, name: str, namespace: str, timeout: float, poll: float = 5.0,
           on_state: Callable[[str, str], None] | None = None) -> dict:
    """Poll the job until it succeeds (returns it), fails or runs past `timeout` (raises;
    a timed-out job is deleted so that it stops holding nodes)."""
    deadline = time.monotonic() + timeout
    seen = None
    while True:
        job = api.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
        state, message = job_state(job)
        if state != seen and on_state:
            on_state(state, message)
        seen = state
        if state == "Succeeded":
            return job
        if state == "Failed":
            raise TrainingJobError(f"PyTorchJob {namespace}/{name} failed: {message or 'no message'}",
                                   fix=f"kubectl -n {namespace} logs -l training.kubeflow.org/job-name={name}")
        if time.monotonic() >= deadline:
            api.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
            raise TrainingJobError(f"PyTorchJob {namespace}/{name} did not finish within {timeout:.0f} s "
                                   f"(last state {state}); it was deleted",
                                   fix="raise the timeout, or check that the cluster has the nodes it asks for")
        time.sleep(poll)


def run_on_cluster(function: Callable, args: tuple, kwargs: dict, spec: JobSpec, *,
                   shared_dir: str | Path, name: str = "", api=None, timeout: float = 24 * 3600,
                   poll: float = 10.0, log=print) -> Any:
    """Run function(*args, **kwargs) as a PyTorchJob (named `name`, else after the function)
    and return rank 0's result.

    `shared_dir` is the shared PVC as this process sees it (mounted at spec.shared_path in
    the job's pods)."""
    name = name or f"nlpfactory-{function.__name__.replace('_', '-')}-{uuid.uuid4().hex[:6]}"
    here = Path(shared_dir) / "jobs" / name
    here.mkdir(parents=True, exist_ok=True)
    (here / "call.pkl").write_bytes(pickle.dumps((function.__module__, function.__qualname__, args, kwargs)))
    there = f"{spec.shared_path}/jobs/{name}"
    body = manifest(name, spec, job_command(f"{there}/call.pkl", f"{there}/result.pkl"))
    api = api or _custom_objects_api()
    try:
        api.create_namespaced_custom_object(GROUP, VERSION, spec.namespace, PLURAL, body)
    except Exception as err:  # noqa: BLE001 - the API client raises many kinds
        raise TrainingJobError(f"could not create PyTorchJob {spec.namespace}/{name}: {err}",
                               fix="is the Kubeflow Training Operator installed, and may this "
                                   "service account create pytorchjobs?") from None
    log(f"PyTorchJob {spec.namespace}/{name}: {spec.nodes} node(s) x {spec.nproc_per_node} process(es)")
    follow(api, name, spec.namespace, timeout, poll, on_state=lambda s, m: log(f"  {s} {m}".rstrip()))
    result = here / "result.pkl"
    if not result.exists():
        raise TrainingJobError(f"PyTorchJob {name} succeeded but left no result in {here}",
                               fix="mount the same ReadWriteMany PVC here and in the job (shared_pvc)")
    return pickle.loads(result.read_bytes())


def _custom_objects_api():
    from kubernetes import client, config

    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()
    return client.CustomObjectsApi()
