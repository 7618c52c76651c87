"""Cluster settings applied when a pipeline is compiled (`--settings cluster.yaml`).

A settings file says what a cluster needs and the pipelines do not know: the image, where
MLflow is (a ConfigMap and/or Secret put into every task's environment), resources per stage,
GPUs for the training stages, a PVC for the cache, node selector, tolerations, retries,
caching. Unknown keys are refused with the valid ones. Example:

    image: registry.example.com/ml/nlpfactory:0.1.0-gpu
    tracking: {config_map: mlflow-tracking, secret: mlflow-credentials}
    resources:
      default: {cpu: "1", memory: 4Gi}
      finetune: {cpu: "4", cpu_limit: "8", memory: 16Gi}
    gpu: {count: 1, type: nvidia.com/gpu}
    cache_pvc: {name: nlpfactory-cache}
    node_selector: {nodepool: ml}
    tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
    retries: 2
    caching: false
    training_job: {namespace: team-a, timeout_hours: 12}   # for a training stage with nodes > 1
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
from pathlib import Path
from typing import Any

from nlpfactory.cluster.stage_job import ENV_TRAINING_JOB
from nlpfactory.errors import InputError

# The stages that train a network: GPUs go to these (a `gpu.stages` list says otherwise).
TRAINING_STAGES = ("finetune", "pretrain", "backbone", "distill", "fewshot", "meta-teacher")
CACHE_PATH = "/var/cache/nlpfactory"  # docker/Dockerfile's NLPFACTORY_CACHE


@dataclasses.dataclass
class Tracking:
    config_map: str = "mlflow-tracking"  # its keys (e.g. MLFLOW_TRACKING_URI) become env variables
    config_map_keys: list[str] = dataclasses.field(default_factory=lambda: ["MLFLOW_TRACKING_URI"])
    secret: str = ""  # e.g. MLFLOW_TRACKING_USERNAME / _PASSWORD / _TOKEN, AWS_* for artifacts
    secret_keys: list[str] = dataclasses.field(
        default_factory=lambda: ["MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"])
    pod_local: bool = False  # say so to track into a file inside each pod (lost with it)


@dataclasses.dataclass
class Resources:
    cpu: str = ""  # request
    cpu_limit: str = ""
    memory: str = ""  # request
    memory_limit: str = ""


@dataclasses.dataclass
class Gpu:
    count: int = 0
    type: str = "nvidia.com/gpu"  # the accelerator resource/type the node offers
    stages: list[str] = dataclasses.field(default_factory=lambda: list(TRAINING_STAGES))


@dataclasses.dataclass
class CachePvc:
    name: str = ""
    mount_path: str = CACHE_PATH


@dataclasses.dataclass
class Toleration:
    key: str = ""
    operator: str = "Equal"
    value: str = ""
    effect: str = ""
    toleration_seconds: int | None = None


@dataclasses.dataclass
class TrainingJob:
    """Where a training stage's PyTorchJob goes when it asks for nodes > 1 (its pods use the
    image, the tracking ConfigMap and Secret, the stage's resources and GPUs, the cache PVC,
    node selector and tolerations above)."""

    namespace: str = ""  # empty: the namespace the pipeline's own pods run in
    service_account: str = ""  # one that may create pytorchjobs (the task's, for the launch itself)
    timeout_hours: float = 24.0  # the job is deleted past it


@dataclasses.dataclass
class ClusterSettings:
    image: str = ""  # empty: the components' image
    tracking: Tracking = dataclasses.field(default_factory=Tracking)
    resources: dict[str, Resources] = dataclasses.field(default_factory=dict)  # stage or "default"
    gpu: Gpu = dataclasses.field(default_factory=Gpu)
    cache_pvc: CachePvc = dataclasses.field(default_factory=CachePvc)
    node_selector: dict[str, str] = dataclasses.field(default_factory=dict)
    tolerations: list[Toleration] = dataclasses.field(default_factory=list)
    retries: int = 0
    caching: bool | None = None  # None: kfp's default (on)
    training_job: TrainingJob = dataclasses.field(default_factory=TrainingJob)


def load(path: str | Path) -> ClusterSettings:
    import yaml

    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as err:
        raise InputError(f"cannot read the settings file {path}: {err.strerror}", fix="check the path") from None
    except yaml.YAMLError as err:
        raise InputError(f"{path}: not valid YAML ({err})", fix="fix the YAML syntax") from None
    return parse(raw, str(path))


def parse(raw: Any, where: str = "settings") -> ClusterSettings:
    return _check_stages(_build(ClusterSettings, raw, where), where)


def _build(cls, raw: Any, where: str):
    if not isinstance(raw, dict):
        raise InputError(f"{where}: expected a mapping, got {type(raw).__name__}",
                         fix=f"valid keys: {', '.join(f.name for f in dataclasses.fields(cls))}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise InputError(f"{where}: unknown key{'s' * (len(unknown) > 1)} {', '.join(map(repr, unknown))}",
                         fix=f"valid keys: {', '.join(fields)}")
    hints = _hints(cls)
    return cls(**{name: _value(hints[name], value, f"{where}: {name}") for name, value in raw.items()})


@functools.cache
def _hints(cls) -> dict:
    import typing

    return typing.get_type_hints(cls)


def _value(kind, value, where: str):
    import typing

    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if dataclasses.is_dataclass(kind):
        return _build(kind, value, where)
    if origin is dict:
        if not isinstance(value, dict):
            raise InputError(f"{where}: expected a mapping", fix="write it as key: value lines")
        return {str(k): _value(args[1], v, f"{where}.{k}") for k, v in value.items()}
    if origin is list:
        if not isinstance(value, list):
            raise InputError(f"{where}: expected a list", fix="write it as [a, b] or '- a' lines")
        return [_value(args[0], v, f"{where}[{i}]") for i, v in enumerate(value)]
    if args and type(None) in args:  # optional
        return None if value is None else _value(next(a for a in args if a is not type(None)), value, where)
    if kind is bool and not isinstance(value, bool):
        raise InputError(f"{where}: expected true or false, got {value!r}", fix="write true or false")
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise InputError(f"{where}: expected a whole number, got {value!r}", fix="e.g. 2")
    if kind is str:
        if isinstance(value, (dict, list)):
            raise InputError(f"{where}: expected a single value, got {value!r}", fix="e.g. \"4\" or 16Gi")
        return str(value)
    return value


def stage_of(task) -> str:
    """The stage a task runs: its component's name (task names get -2, -3 when repeated)."""
    return task.component_spec.name.replace("_", "-")


def apply(task, settings: ClusterSettings) -> None:
    """Put the settings on one pipeline task."""
    from kfp import kubernetes

    stage = stage_of(task)
    if settings.image:
        task.set_container_image(settings.image)
    tracking = settings.tracking
    if not tracking.pod_local:
        if tracking.config_map:
            kubernetes.use_config_map_as_env(task, tracking.config_map,
                                             {k: k for k in tracking.config_map_keys})
        if tracking.secret:
            kubernetes.use_secret_as_env(task, tracking.secret, {k: k for k in tracking.secret_keys})
    wanted = settings.resources.get(stage) or settings.resources.get("default")
    if wanted:
        _resources(task, wanted)
    if settings.gpu.count and stage in settings.gpu.stages:
        task.set_accelerator_type(settings.gpu.type)
        task.set_accelerator_limit(settings.gpu.count)
    if settings.cache_pvc.name:
        kubernetes.mount_pvc(task, pvc_name=settings.cache_pvc.name, mount_path=settings.cache_pvc.mount_path)
    for label, value in settings.node_selector.items():
        kubernetes.add_node_selector(task, label_key=label, label_value=value)
    for t in settings.tolerations:
        kubernetes.add_toleration(task, key=t.key or None, operator=t.operator, value=t.value or None,
                                  effect=t.effect or None, toleration_seconds=t.toleration_seconds)
    if settings.retries:
        task.set_retry(num_retries=settings.retries)
    if settings.caching is not None:
        task.set_caching_options(settings.caching)
    if "nodes" in task.component_spec.inputs:
        task.set_env_variable(ENV_TRAINING_JOB, json.dumps(training_job(stage, settings), sort_keys=True))


def training_job(stage: str, settings: ClusterSettings) -> dict:
    """The JobSpec fields (nlpfactory.cluster.pytorchjob) of a stage's PyTorchJob, for a task
    that may launch one: everything but its node and process counts, which are parameters. Its
    pods get what the stage's own task gets: image, tracking variables, resources, GPUs, cache
    PVC, node selector and tolerations."""
    from nlpfactory.components.image import IMAGE

    wanted = settings.resources.get(stage) or settings.resources.get("default") or Resources()
    gpus = settings.gpu.count if stage in settings.gpu.stages else 0
    tracking = Tracking(config_map="", secret="") if settings.tracking.pod_local else settings.tracking
    job = settings.training_job
    return {"image": settings.image or IMAGE, "namespace": job.namespace, "service_account": job.service_account,
            "gpus_per_node": gpus, "gpu_resource": settings.gpu.type,
            "cpu": wanted.cpu, "cpu_limit": wanted.cpu_limit, "memory": wanted.memory,
            "memory_limit": wanted.memory_limit,
            "shared_pvc": settings.cache_pvc.name, "shared_path": settings.cache_pvc.mount_path,
            "tracking_config_map": tracking.config_map, "tracking_config_map_keys": tracking.config_map_keys,
            "tracking_secret": tracking.secret, "tracking_secret_keys": tracking.secret_keys,
            "node_selector": settings.node_selector,
            "tolerations": [{k: v for k, v in dataclasses.asdict(t).items() if v not in ("", None)}
                            for t in settings.tolerations],
            "timeout_seconds": job.timeout_hours * 3600}


def _resources(task, wanted: Resources) -> None:
    # A limit defaults to the request: a pod without one may take the whole node.
    if wanted.cpu:
        task.set_cpu_request(wanted.cpu)
    if wanted.cpu_limit or wanted.cpu:
        task.set_cpu_limit(wanted.cpu_limit or wanted.cpu)
    if wanted.memory:
        task.set_memory_request(wanted.memory)
    if wanted.memory_limit or wanted.memory:
        task.set_memory_limit(wanted.memory_limit or wanted.memory)


def configured(pipeline, settings: ClusterSettings):
    """The same pipeline, rebuilt with the settings on every task (the original is untouched)."""
    from kfp.dsl import graph_component, pipeline_context

    func = pipeline.pipeline_func

    @functools.wraps(func)
    def with_settings(*args, **kwargs):
        outputs = func(*args, **kwargs)
        for task in pipeline_context.Pipeline.get_default_pipeline().tasks.values():
            apply(task, settings)
        return outputs

    return graph_component.GraphComponent(copy.deepcopy(pipeline.component_spec), with_settings,
                                          pipeline_config=pipeline.pipeline_config)


def stage_names() -> list[str]:
    """The stages a `resources` entry may name: one per component module."""
    import pkgutil

    import nlpfactory.components as package

    return sorted(m.name.replace("_", "-") for m in pkgutil.iter_modules(package.__path__)
                  if m.name not in ("form", "image"))


def _check_stages(settings: ClusterSettings, where: str) -> ClusterSettings:
    known = stage_names()
    for key, names in (("resources", list(settings.resources)), ("gpu: stages", settings.gpu.stages)):
        unknown = [n for n in names if n != "default" and n not in known]
        if unknown:
            raise InputError(f"{where}: {key} names no stage {', '.join(map(repr, unknown))}",
                             fix=f"stages: {', '.join(known)} (and 'default' under resources)")
    return settings


def compile_pipeline(name: str, path: str | Path, settings_file: str | Path | None = None) -> Path:
    """Compile the named pipeline to `path` with the settings file's settings (none given:
    the defaults, i.e. tracking from the mlflow-tracking ConfigMap on every task)."""
    from kfp import compiler

    from nlpfactory.pipelines import registry

    settings = load(settings_file) if settings_file else ClusterSettings()
    compiler.Compiler().compile(configured(registry.get(name), settings), str(path))
    return Path(path)
