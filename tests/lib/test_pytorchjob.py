"""The PyTorchJob launcher against a fake Kubernetes API on loopback: the manifest it posts
deserializes into the training SDK's model, a succeeding job's command really runs (torchrun,
2 processes, as the operator's PET_* variables tell it) and hands back rank 0's result; a
failed job and a job past its timeout raise, and the timed-out one is deleted. Every training
stage takes the same path with nodes > 1, its pod running it as two ranks; on one machine a
stage with nproc_per_node > 1 relaunches itself under torchrun."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from nlpfactory.cluster.pytorchjob import JobSpec, TrainingJobError, run_on_cluster

HERE = Path(__file__).parent
JOBS = re.compile(r"^/apis/kubeflow\.org/v1/namespaces/([^/]+)/pytorchjobs(?:/([^/]+))?$")


class FakeTrainingOperator:
    """Kubernetes' custom-objects API for pytorchjobs, and an operator that walks each job
    through `states`; on "Succeeded" it first runs the job's command as one pod would."""

    def __init__(self, states: list[str], message: str = ""):
        self.states, self.message = states, message
        self.jobs: dict[str, dict] = {}
        self.polls: dict[str, int] = {}
        self.deleted: list[str] = []
        self.posted: list[dict] = []
        self.pod_runs: list[subprocess.CompletedProcess] = []
        self.pod_outputs: list[list[str]] = []  # what each pod run left in its job's outputs folder
        operator = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _reply(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                operator.posted.append(body)
                operator.jobs[body["metadata"]["name"]] = body
                self._reply(201, body)

            def do_GET(self):
                match = JOBS.match(self.path.split("?")[0])
                name = match and match.group(2)
                if name not in operator.jobs:
                    return self._reply(404, {"kind": "Status", "code": 404, "reason": "NotFound"})
                self._reply(200, operator.observe(name))

            def do_DELETE(self):
                name = JOBS.match(self.path.split("?")[0]).group(2)
                operator.deleted.append(name)
                self._reply(200, {"kind": "Status", "status": "Success"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def observe(self, name: str) -> dict:
        job = self.jobs[name]
        n = self.polls[name] = self.polls.get(name, 0) + 1
        state = self.states[min(n, len(self.states)) - 1]
        if state == "Succeeded" and not self.pod_runs:
            self.pod_runs.append(self.run_pod(job))
            if self.pod_runs[-1].returncode != 0:
                state = "Failed"
        job["status"] = {"conditions": [{"type": state, "status": "True",
                                         "message": self.message if state == "Failed" else ""}]}
        return job

    def run_pod(self, job: dict) -> subprocess.CompletedProcess:
        """The master pod: its container command with what the operator sets for torchrun."""
        spec = job["spec"]
        [container] = spec["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["containers"]
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {**os.environ, "PET_NNODES": "1", "PET_NPROC_PER_NODE": spec["nprocPerNode"],
               "PET_NODE_RANK": "0", "PET_MASTER_ADDR": "127.0.0.1", "PET_MASTER_PORT": str(port),
               "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
        command = [sys.executable if c == "python3" else c for c in container["command"]]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        outputs = Path(command[-2]).parent / "outputs"  # beside the job's call file, on the PVC
        self.pod_outputs.append(sorted(p.name for p in outputs.iterdir()) if outputs.is_dir() else [])
        return done

    def api(self):
        from kubernetes import client

        configuration = client.Configuration()
        configuration.host = self.url
        return client.CustomObjectsApi(client.ApiClient(configuration))

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def operator_with(request):
    made = []

    def make(states, message=""):
        made.append(FakeTrainingOperator(states, message))
        return made[-1]

    yield make
    for operator in made:
        operator.close()


def spec_for(shared: Path, **overrides) -> JobSpec:
    # The pods see the shared PVC at the same path as this test, as a local stand-in.
    settings = {"image": "registry.example.com/ml/nlpfactory:0.1.0", "namespace": "team-a", "nodes": 1,
                "nproc_per_node": 2, "shared_pvc": "nlpfactory-cache", "shared_path": str(shared)}
    return JobSpec(**{**settings, **overrides})


def posted_job(body: dict):
    """The posted manifest read back into the SDK's model (types checked on the way)."""
    from kubeflow.training import ApiClient

    class Reply:
        data = json.dumps(body)

    return ApiClient().deserialize(Reply(), "KubeflowOrgV1PyTorchJob")


@pytest.mark.slow
def test_a_succeeding_job_runs_its_command_under_torchrun_and_returns_rank_0s_result(tmp_path, operator_with):
    import ddp_worker

    operator = operator_with(["Created", "Running", "Succeeded"])
    spec = spec_for(tmp_path, gpus_per_node=1, cpu="4", memory="16Gi")

    result = run_on_cluster(ddp_worker.who_am_i, (), {}, spec, shared_dir=tmp_path,
                            api=operator.api(), timeout=120, poll=0.05, log=lambda _: None)

    assert operator.pod_runs[0].returncode == 0, operator.pod_runs[0].stderr[-3000:]
    assert result == {"world_size": 2, "rank": 0}
    [body] = operator.posted
    job = posted_job(body)
    assert job.kind == "PyTorchJob" and job.metadata.namespace == "team-a"
    assert job.spec.nproc_per_node == "2" and set(job.spec.pytorch_replica_specs) == {"Master"}
    [container] = job.spec.pytorch_replica_specs["Master"].template.spec.containers
    assert container.name == "pytorch" and container.image == spec.image
    assert container.resources.limits == {"nvidia.com/gpu": "1", "cpu": "4", "memory": "16Gi"}
    [tracking] = container.env  # MLflow reaches the pods too
    assert (tracking.name, tracking.value_from.config_map_key_ref.name) == ("MLFLOW_TRACKING_URI", "mlflow-tracking")
    assert job.spec.pytorch_replica_specs["Master"].template.spec.volumes[0].persistent_volume_claim.claim_name == "nlpfactory-cache"


def test_several_nodes_make_a_master_and_workers(tmp_path):
    from nlpfactory.cluster.pytorchjob import manifest

    job = posted_job(manifest("j", spec_for(tmp_path, nodes=4), ["true"]))

    assert {k: v.replicas for k, v in job.spec.pytorch_replica_specs.items()} == {"Master": 1, "Worker": 3}


def test_a_failed_job_raises_with_the_operators_message(tmp_path, operator_with):
    import ddp_worker

    operator = operator_with(["Created", "Running", "Failed"], message="pod nlpfactory-0 OOMKilled")

    with pytest.raises(TrainingJobError, match="failed: pod nlpfactory-0 OOMKilled"):
        run_on_cluster(ddp_worker.who_am_i, (), {}, spec_for(tmp_path), shared_dir=tmp_path,
                       api=operator.api(), timeout=60, poll=0.05, log=lambda _: None)
    assert operator.deleted == []  # a failed job is left for its logs


def test_a_job_past_its_timeout_is_deleted_and_raises(tmp_path, operator_with):
    import ddp_worker

    operator = operator_with(["Created", "Running"])

    with pytest.raises(TrainingJobError, match="did not finish within 1 s .*last state Running.*deleted"):
        run_on_cluster(ddp_worker.who_am_i, (), {}, spec_for(tmp_path), shared_dir=tmp_path,
                       api=operator.api(), timeout=1, poll=0.05, log=lambda _: None)
    assert operator.deleted == list(operator.jobs)


def test_an_api_that_refuses_the_job_says_what_to_check(tmp_path):
    from kubernetes import client

    configuration = client.Configuration()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        configuration.host = f"http://127.0.0.1:{s.getsockname()[1]}"  # nobody listens there
    api = client.CustomObjectsApi(client.ApiClient(configuration))

    with pytest.raises(TrainingJobError, match="Training Operator installed"):
        run_on_cluster(len, ([],), {}, spec_for(tmp_path), shared_dir=tmp_path, api=api, timeout=5, poll=0.05,
                       log=lambda _: None)


def training_job_env(monkeypatch, shared: Path, operator, timeout_seconds: float = 300) -> None:
    """What a cluster settings file puts on a training task, and the fake API it reaches."""
    from nlpfactory.cluster import pytorchjob, stage_job

    monkeypatch.setenv(stage_job.ENV_TRAINING_JOB, json.dumps({
        "image": "registry.example.com/ml/nlpfactory:0.1.0", "namespace": "team-a", "shared_pvc": "nlpfactory-cache",
        "shared_path": str(shared), "timeout_seconds": timeout_seconds}))
    monkeypatch.setattr(stage_job, "POLL_SECONDS", 0.05)
    monkeypatch.setattr(pytorchjob, "_custom_objects_api", operator.api)


QUICK = dict(model="tiny", epochs=1, max_length=32, vocab_size=500, checkpoint_every_steps=0)
# stage -> (its options for a quick run, the output folder the job hands back)
TRAINING_STAGES = {
    "finetune": (QUICK, "trained_model"),
    "meta_teacher": (QUICK, "meta_teacher"),
    "distill": ({"student": "tiny", "epochs": 1, "max_length": 32, "checkpoint_every_steps": 0}, "student_model"),
    "fewshot": (QUICK | {"method": "pet", "shots_per_class": 4, "dev_shots_per_class": 2, "batch_size": 4,
                         "verbalizer": {"positive": "好", "negative": "差"}}, "trained_model"),
    "pretrain": (QUICK | {"max_steps": 3, "batch_size": 8, "eval_rows": 0}, "pretrained_model"),
    # the zh-tiny recipe on a corpus of its own (scaled_out), into the test's backbone cache
    "backbone": ({"name": "zh-tiny", "max_steps": 2}, "backbone"),
}


@pytest.fixture(scope="module")
def stage_inputs(tmp_path_factory):
    """Each training stage's inputs: one Dataset with domains (the meta-teacher needs them) and,
    for distill, a teacher fine-tuned on it in this process."""
    from helpers import write_tiny_dataset

    from nlpfactory import stages

    root = tmp_path_factory.mktemp("inputs")
    dataset = str(write_tiny_dataset(root / "dataset", n=60, domains=True))
    made = {}

    def inputs_of(name: str) -> dict:
        if name == "distill" and "teacher" not in made:
            stages.execute("finetune", stages.get("finetune").Config(**QUICK), {"dataset": dataset},
                           {"trained_model": str(root / "teacher")})
            made["teacher"] = str(root / "teacher")
        return {n: dataset if n == "dataset" else made.get(n) for n in stages.get(name).INPUTS}

    return inputs_of


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> str:
    """The backbone's pretraining corpus (zh-pretrain would be built from the datahub)."""
    from helpers import write_corpus

    return str(write_corpus(tmp_path_factory.mktemp("corpus") / "corpus"))


def scaled_out(name: str, nodes: int, corpus: str = "", nproc_per_node: int = 1):
    from nlpfactory import stages

    options, output = TRAINING_STAGES[name]
    if name == "backbone":
        options = options | {"corpus": corpus}
    return stages.get(name).Config(**options, nodes=nodes, nproc_per_node=nproc_per_node), output


@pytest.mark.slow
@pytest.mark.parametrize("name", TRAINING_STAGES)
def test_a_training_stage_with_two_nodes_runs_as_a_pytorchjob_and_hands_back_its_output(
        name, stage_inputs, corpus, tmp_path, operator_with, monkeypatch):
    from nlpfactory import stages
    from nlpfactory.tracking import NO_TRACKING

    operator = operator_with(["Created", "Running", "Succeeded"])
    training_job_env(monkeypatch, tmp_path / "pvc", operator)
    # Two processes per pod: the master pod's torchrun then runs the stage as two ranks.
    cfg, output = scaled_out(name, nodes=2, corpus=corpus, nproc_per_node=2)
    target = tmp_path / "task" / output

    result = stages.execute(name, cfg, stage_inputs(name), {output: str(target)}, NO_TRACKING)

    assert operator.pod_runs[0].returncode == 0, operator.pod_runs[0].stderr[-3000:]
    job = posted_job(operator.posted[0])
    assert {k: v.replicas for k, v in job.spec.pytorch_replica_specs.items()} == {"Master": 1, "Worker": 1}
    assert job.spec.nproc_per_node == "2"
    assert job.metadata.name.startswith(f"nlpfactory-{name.replace('_', '-')}-") and job.metadata.namespace == "team-a"
    # Rank 0's result and output come back into the task's own output; the PVC is left clean.
    assert result.metrics and result.metadata[output]["parameters"] > 0
    assert operator.pod_outputs == [[output]]  # no rank wrote a second copy beside it
    assert {"config.json", "model.safetensors", "nlpfactory.json", ".nlpfactory-output"} <= {p.name for p in target.iterdir()}
    assert list((tmp_path / "pvc" / "jobs").iterdir()) == []


@pytest.mark.parametrize("name", TRAINING_STAGES)
def test_a_training_stage_with_two_nodes_and_no_cluster_says_what_it_needs(name, tmp_path, monkeypatch):
    from nlpfactory import stages
    from nlpfactory.cluster.stage_job import ENV_TRAINING_JOB
    from nlpfactory.errors import ConfigError

    monkeypatch.delenv(ENV_TRAINING_JOB, raising=False)
    cfg, output = scaled_out(name, nodes=2)
    inputs = {n: str(tmp_path / n) for n in stages.get(name).INPUTS}
    with pytest.raises(ConfigError, match="nodes is 2") as err:
        stages.execute(name, cfg, inputs, {output: str(tmp_path / "out")})
    assert "--settings cluster.yaml" in err.value.fix and not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", TRAINING_STAGES)
@pytest.mark.parametrize(("states", "timeout", "raised"), [
    (["Created", "Failed"], 300, "OOMKilled"),
    (["Created", "Running"], 0.2, "did not finish within 0 s .*deleted"),
], ids=["failed", "timed-out"])
def test_a_failed_or_timed_out_stage_job_leaves_no_output_and_no_files_on_the_pvc(
        name, states, timeout, raised, tmp_path, operator_with, monkeypatch):
    from helpers import write_tiny_dataset

    from nlpfactory import stages

    operator = operator_with(states, message=f"pod nlpfactory-{name}-0 OOMKilled")
    training_job_env(monkeypatch, tmp_path / "pvc", operator, timeout_seconds=timeout)
    cfg, output = scaled_out(name, nodes=3)
    dataset = str(write_tiny_dataset(tmp_path / "d", n=20))
    inputs = {n: dataset for n in stages.get(name).INPUTS}  # the job never runs: any folder will do

    with pytest.raises(TrainingJobError, match=raised):
        stages.execute(name, cfg, inputs, {output: str(tmp_path / "out")})
    assert not (tmp_path / "out").exists() and list((tmp_path / "pvc" / "jobs").iterdir()) == []
    assert operator.deleted == (list(operator.jobs) if "Failed" not in states else [])


@pytest.mark.slow
def test_a_training_stage_with_two_processes_runs_under_torchrun_and_writes_one_output(stage_inputs, tmp_path):
    """nproc_per_node > 1 on one machine: the stage relaunches itself under torchrun. Every
    training stage runs under torchrun's two processes in the PyTorchJob test above; what is
    held here is the relaunch, the same for every stage, so one stage (with a teacher input)."""
    from nlpfactory import stages

    name = "distill"
    cfg, output = scaled_out(name, nodes=1, nproc_per_node=2)
    target = tmp_path / output

    result = stages.execute(name, cfg, stage_inputs(name), {output: str(target)})

    assert result.metrics and result.metadata[output]["parameters"] > 0  # rank 0's result
    assert {"config.json", "model.safetensors", "nlpfactory.json"} <= {p.name for p in target.iterdir()}
    assert [p.name for p in tmp_path.iterdir()] == [output]  # no rank wrote a second copy beside it
