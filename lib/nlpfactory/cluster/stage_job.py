"""A training stage with `nodes > 1`, run as a Kubeflow PyTorchJob of that many pods.

The pipeline task that asked for it stays the stage's owner: it copies the stage's input
folders onto the shared cache PVC, launches the job (the same image, `stages.execute` of the
same stage with `nodes=1` under torchrun in every pod), follows it to the end, and copies rank
0's output folders from the PVC into its own output artifacts. So the next task reads an
ordinary artifact, and the job's pods never need to reach KFP's artifact store.

What the job needs of the cluster comes from the task's environment, which a cluster
settings file puts there at compile time (pipelines/settings.py, `training_job` and
`cache_pvc`): NLPFACTORY_TRAINING_JOB holds the JobSpec fields (image, namespace, the shared
PVC and where it is mounted, GPUs and resources per pod, the tracking ConfigMap) as JSON.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import uuid
from pathlib import Path

from nlpfactory.atomic import MARKER, atomic_dir
from nlpfactory.cluster.pytorchjob import JobSpec, run_on_cluster
from nlpfactory.errors import ConfigError

ENV_TRAINING_JOB = "NLPFACTORY_TRAINING_JOB"
POLL_SECONDS = 10.0
SERVICE_ACCOUNT_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"


def job_spec(nodes: int, nproc_per_node: int) -> tuple[JobSpec, float]:
    """(the job's spec, its timeout in seconds) from the task's environment."""
    text = os.environ.get(ENV_TRAINING_JOB, "")
    if not text:
        raise ConfigError(f"nodes is {nodes}, but this task has no training-job settings ({ENV_TRAINING_JOB})",
                          option="nodes", fix="use nodes=1 here, or run on Kubeflow with a cluster settings file "
                          "that names a ReadWriteMany cache_pvc (nlpfactory compile/submit --settings cluster.yaml)")
    settings = json.loads(text)
    timeout = float(settings.pop("timeout_seconds", 24 * 3600))
    settings["namespace"] = settings.get("namespace") or _own_namespace()
    spec = JobSpec(**settings, nodes=nodes, nproc_per_node=nproc_per_node)
    if not spec.shared_pvc:
        raise ConfigError(f"nodes is {nodes}, but no shared PVC is set for the job's pods", option="nodes",
                          fix="name a ReadWriteMany PVC under cache_pvc in the cluster settings file")
    return spec, timeout


def _own_namespace() -> str:
    """The namespace this pod runs in (where the pipeline runs), else the operator's usual one."""
    try:
        return Path(SERVICE_ACCOUNT_NAMESPACE).read_text().strip() or "kubeflow"
    except OSError:
        return "kubeflow"


def run_stage_as_job(name: str, cfg, inputs: dict, outputs: dict, tracker, *, log=print):
    """Run the stage as a PyTorchJob of cfg.nodes pods and return rank 0's StageResult."""
    from nlpfactory import stages

    spec, timeout = job_spec(cfg.nodes, getattr(cfg, "nproc_per_node", 1))
    job_name = f"nlpfactory-{name.replace('_', '-')}-{uuid.uuid4().hex[:6]}"
    # The PVC is mounted at the same path in this pod and in the job's pods.
    work = Path(spec.shared_path) / "jobs" / job_name
    shared_inputs = {n: _copy_in(path, work / "inputs" / n) for n, path in inputs.items()}
    shared_outputs = {n: str(work / "outputs" / n) for n in outputs}
    try:
        result = run_on_cluster(stages.execute, (name, dataclasses.replace(cfg, nodes=1), shared_inputs,
                                                 shared_outputs, tracker), {},
                                spec, shared_dir=spec.shared_path, name=job_name, timeout=timeout,
                                poll=POLL_SECONDS, log=log)
        for n, target in outputs.items():
            _copy_out(Path(shared_outputs[n]), Path(target))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return result


def _copy_in(path, target: Path):
    """An input as the job's pods will see it: folders copied onto the PVC; a Metrics' numbers
    (a dict) or an absent optional input as they are."""
    if not isinstance(path, (str, os.PathLike)):
        return path
    shutil.copytree(path, target)
    return str(target)


def _copy_out(source: Path, target: Path) -> None:
    with atomic_dir(target) as tmp:
        shutil.copytree(source, tmp, dirs_exist_ok=True, ignore=shutil.ignore_patterns(MARKER))
