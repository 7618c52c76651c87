"""What the docker runner hands each container, checked without a Docker engine: mounts for
data files, cache and MLflow artifacts, the user, the network and the environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nlpfactory.errors import InputError
from nlpfactory.pipelines.docker_runner import host_paths, local_store, runner_settings, task_image


def test_data_files_named_in_arguments_become_absolute_and_mounted_read_only(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reviews.tsv").write_text("text\tlabel\n")
    arguments, readable = host_paths({"data_source": "reviews.tsv", "model": "tiny", "epochs": 2})

    assert arguments == {"data_source": str(tmp_path / "reviews.tsv"), "model": "tiny", "epochs": 2}
    root, cache = tmp_path / "out", tmp_path / "cache"
    settings = runner_settings("http://127.0.0.1:5000", root, [tmp_path / "mlartifacts"], readable, cache)

    mounts = {m["Target"]: m for m in settings["mounts"]}
    assert mounts[str(tmp_path / "reviews.tsv")]["ReadOnly"] is True
    assert mounts[str(tmp_path / "mlartifacts")]["ReadOnly"] is False
    assert mounts[str(cache)]["ReadOnly"] is False
    assert str(root) not in mounts  # kfp mounts the pipeline root itself
    assert all(m["Source"] == m["Target"] for m in mounts.values())  # same paths inside and out


def test_containers_run_as_this_user_in_group_0_on_the_host_network_tracking_to_the_server(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "secret-token")
    settings = runner_settings("http://127.0.0.1:5000", tmp_path / "out", [], [], tmp_path / "cache")

    assert settings["user"] == f"{os.getuid()}:{os.getgid()}" and settings["group_add"] == ["0"]
    assert settings["network_mode"] == "host"
    env = settings["environment"]
    assert env["MLFLOW_TRACKING_URI"] == "http://127.0.0.1:5000"
    assert env["NLPFACTORY_CACHE"] == str(tmp_path / "cache")
    assert env["MLFLOW_TRACKING_TOKEN"] == "secret-token"


def test_nested_paths_are_mounted_once(tmp_path):
    data = tmp_path / "cache" / "corpus.tsv"
    settings = runner_settings("http://x", tmp_path / "out", [tmp_path / "cache"], [data], tmp_path / "cache")

    assert [m["Target"] for m in settings["mounts"]] == [str(tmp_path / "cache")]


@pytest.mark.parametrize("uri, served", [
    ("sqlite:///mlflow.db", True), ("file:///tmp/mlruns", True), ("mlruns", True),
    ("http://mlflow.example:5000", False), ("https://mlflow.example", False)])
def test_local_stores_are_served_and_tracking_servers_passed_through(uri, served):
    store = local_store(uri)

    assert (store is not None) == served
    if uri.startswith("sqlite"):
        backend, artifacts = store
        assert backend == f"sqlite:///{Path('mlflow.db').resolve()}"
        assert artifacts == Path("mlflow.db").resolve().parent / "mlartifacts"  # where a subprocess run puts them


def test_an_image_other_than_the_loaded_components_one_says_how_to_choose_it():
    with pytest.raises(InputError, match="NLPFACTORY_IMAGE=other/image:1"):
        task_image("other/image:1")
