"""`nlpfactory submit` / upload against a fake Kubeflow Pipelines server, through the real
kfp.Client (tests/pipelines/fake_kfp.py speaks the v2beta1 REST calls it makes).

No `from __future__ import annotations` here: kfp reads the component's real annotations.
"""

import socket

import pytest
import yaml
from fake_kfp import FakeKubeflow
from kfp import compiler, dsl

from nlpfactory.errors import InputError
from nlpfactory.pipelines import remote
from nlpfactory.pipelines.remote import KubeflowError, submit, upload


@dsl.component(base_image="python:3.11-slim")
def repeat(text: str, times: int) -> str:
    return text * times


@dsl.pipeline(name="tiny-pipeline", description="Says a word a few times.")
def tiny_pipeline(text: str = "你好", times: int = 2, temperature: float = 1.0,
                  lowercase: bool = False, labels: list = ["好", "坏"]):  # noqa: B006 - a KFP default
    repeat(text=text, times=times)


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("compiled") / "tiny_pipeline.yaml"
    compiler.Compiler().compile(tiny_pipeline, str(path))
    return str(path)


@pytest.fixture
def kubeflow(monkeypatch):
    monkeypatch.delenv("KFP_HOST", raising=False)
    monkeypatch.delenv("KFP_TOKEN", raising=False)
    with FakeKubeflow() as fake:
        yield fake


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_submit_sends_the_compiled_spec_with_parameters_in_their_declared_types(package, kubeflow):
    result = submit(package, kubeflow.url, {"times": "3", "temperature": "0.5", "lowercase": "true",
                                            "labels": '["正面", "负面"]'}, run_name="first try")

    [run] = kubeflow.runs
    assert result.run_id == run["run_id"]
    assert result.run_url == f"{kubeflow.url}/#/runs/details/{run['run_id']}"
    assert result.state is None and result.succeeded is None
    assert run["display_name"] == "first try"
    assert run["pipeline_spec"]["pipelineInfo"]["name"] == "tiny-pipeline"
    assert "repeat" in run["pipeline_spec"]["root"]["dag"]["tasks"]
    assert run["runtime_config"]["parameters"] == {
        "times": 3, "temperature": 0.5, "lowercase": True, "labels": ["正面", "负面"]}
    [experiment] = kubeflow.experiments
    assert experiment["display_name"] == "nlpfactory"
    assert run["experiment_id"] == experiment["experiment_id"] == result.experiment_id


def test_second_submit_reuses_the_experiment(package, kubeflow):
    submit(package, kubeflow.url, {}, experiment="kd")
    submit(package, kubeflow.url, {}, experiment="kd")

    assert [e["display_name"] for e in kubeflow.experiments] == ["kd"]
    assert len(kubeflow.runs) == 2
    assert kubeflow.runs[0]["display_name"].startswith("tiny_pipeline ")


def test_host_and_token_come_from_the_environment(package, kubeflow, monkeypatch):
    monkeypatch.setenv("KFP_HOST", kubeflow.url)
    monkeypatch.setenv("KFP_TOKEN", "s3cret")

    submit(package, None, {})

    assert kubeflow.runs
    assert all(headers.get("authorization") == "Bearer s3cret" for _, _, headers in kubeflow.requests)


@pytest.mark.parametrize("state", ["SUCCEEDED", "FAILED", "CANCELED"])
def test_wait_returns_the_final_state(package, kubeflow, state):
    kubeflow.run_state = state

    result = submit(package, kubeflow.url, {}, wait=True)

    assert result.state == state
    assert result.succeeded is (state == "SUCCEEDED")


def test_wait_polls_until_the_run_ends(package, kubeflow, monkeypatch):
    monkeypatch.setattr(remote, "POLL_SECONDS", 0)
    kubeflow.run_state = ["PENDING", "RUNNING", "RUNNING", "SUCCEEDED"]

    result = submit(package, kubeflow.url, {}, wait=True)

    assert result.succeeded
    assert sum(method == "GET" and "/runs/" in path for method, path, _ in kubeflow.requests) == 4


def test_wait_past_the_timeout_says_where_to_follow_the_run(package, kubeflow):
    kubeflow.run_state = "RUNNING"

    with pytest.raises(KubeflowError, match="still RUNNING after 0 s") as caught:
        submit(package, kubeflow.url, {}, wait=True, timeout=0)
    assert "/#/runs/details/" in str(caught.value)


def test_upload_creates_the_pipeline_then_adds_versions(package, kubeflow):
    first = upload(package, kubeflow.url, "tiny", "A tiny test pipeline.")
    second = upload(package, kubeflow.url, "tiny")

    assert first == second == kubeflow.pipelines[0]["pipeline_id"]
    assert [p["display_name"] for p in kubeflow.pipelines] == ["tiny"]
    assert len(kubeflow.versions) == 1 and kubeflow.versions[0]["pipeline_id"] == first
    assert kubeflow.uploads[0]["query"] == {"name": "tiny", "description": "A tiny test pipeline."}
    uploaded = yaml.safe_load(kubeflow.uploads[0]["text"])
    assert uploaded["pipelineInfo"]["name"] == "tiny-pipeline"
    assert set(uploaded["root"]["inputDefinitions"]["parameters"]) == {
        "text", "times", "temperature", "lowercase", "labels"}


def test_unknown_parameter_names_the_ones_the_pipeline_takes(package, kubeflow):
    with pytest.raises(InputError, match="unknown pipeline parameter.*epochs") as caught:
        submit(package, kubeflow.url, {"epochs": "3"})
    assert "labels, lowercase, temperature, text, times" in str(caught.value)
    assert not kubeflow.runs


def test_value_of_the_wrong_type_is_an_input_error(package, kubeflow):
    with pytest.raises(InputError, match="'times' takes a whole number"):
        submit(package, kubeflow.url, {"times": "three"})


def test_missing_package_says_how_to_compile(kubeflow, tmp_path):
    with pytest.raises(InputError, match="make pipelines"):
        submit(str(tmp_path / "nowhere.yaml"), kubeflow.url, {})


def test_no_host_says_to_pass_one(package, monkeypatch):
    monkeypatch.delenv("KFP_HOST", raising=False)

    with pytest.raises(InputError, match="KFP_HOST"):
        submit(package, None, {})


def test_host_without_scheme_is_plain_http_for_a_port_forward():
    assert remote.resolve_host("localhost:8080/") == "http://localhost:8080"
    assert remote.resolve_host("kubeflow.example.com") == "https://kubeflow.example.com"


def test_unreachable_host_says_how_to_port_forward(package):
    host = closed_port_url()

    with pytest.raises(KubeflowError, match="cannot reach Kubeflow Pipelines") as caught:
        submit(package, host, {})
    assert host in str(caught.value)
    assert "kubectl port-forward -n kubeflow svc/ml-pipeline-ui 8080:80" in str(caught.value)
    assert caught.value.status is None


def test_refused_token_names_the_host_and_kfp_token(package):
    with FakeKubeflow(failures={"GET /apis/v2beta1/healthz": (403, "RBAC: access denied")}) as fake:
        with pytest.raises(KubeflowError, match="HTTP 403.*RBAC: access denied") as caught:
            submit(package, fake.url, {})
    assert caught.value.status == 403
    assert fake.url in str(caught.value) and "KFP_TOKEN" in str(caught.value)


def test_server_error_while_starting_the_run_names_the_host(package):
    with FakeKubeflow(failures={"POST /apis/v2beta1/runs": (500, "database is locked")}) as fake:
        with pytest.raises(KubeflowError, match="HTTP 500 when asked to start the run") as caught:
            submit(package, fake.url, {})
    assert caught.value.status == 500
    assert "database is locked" in str(caught.value) and fake.url in str(caught.value)


def test_multi_user_install_asks_for_a_namespace(package, monkeypatch, tmp_path):
    monkeypatch.setattr(remote, "POD_NAMESPACE_FILE", str(tmp_path / "not-in-a-pod"))
    with FakeKubeflow(multi_user=True) as fake:
        with pytest.raises(KubeflowError, match="--namespace"):
            submit(package, fake.url, {})

        submit(package, fake.url, {}, namespace="team-nlp")
    assert fake.experiments[0]["namespace"] == "team-nlp"


def test_multi_user_inside_a_kubeflow_notebook_uses_its_namespace(package, monkeypatch, tmp_path):
    (tmp_path / "namespace").write_text("kubeflow-user-example-com")
    monkeypatch.setattr(remote, "POD_NAMESPACE_FILE", str(tmp_path / "namespace"))
    with FakeKubeflow(multi_user=True) as fake:
        submit(package, fake.url, {})
    assert fake.experiments[0]["namespace"] == "kubeflow-user-example-com"
