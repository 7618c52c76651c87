"""What the docker runner hands each container, checked without a Docker engine: mounts for
data files, cache and MLflow artifacts, the user, the network and the environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nlpfactory.errors import InputError
from nlpfactory.pipelines.docker_runner import (
    hand_over,
    host_paths,
    image_uid,
    runner_settings,
    task_image,
)
from nlpfactory.pipelines.mlflow_server import Served, local_store


def test_data_files_named_in_arguments_become_absolute_and_mounted_read_only(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reviews.tsv").write_text("text\tlabel\n")
    arguments, readable = host_paths({"data_source": "reviews.tsv", "model": "tiny", "epochs": 2})

    assert arguments == {"data_source": str(tmp_path / "reviews.tsv"), "model": "tiny", "epochs": 2}
    root, cache = tmp_path / "out", tmp_path / "cache"
    settings = runner_settings(Served("http://127.0.0.1:5000", [tmp_path / "mlartifacts"]), root, readable, cache)

    mounts = {m["Target"]: m for m in settings["mounts"]}
    assert mounts[str(tmp_path / "reviews.tsv")]["ReadOnly"] is True
    assert mounts[str(tmp_path / "mlartifacts")]["ReadOnly"] is False
    assert mounts[str(cache)]["ReadOnly"] is False
    assert str(root) not in mounts  # kfp mounts the pipeline root itself
    assert all(m["Source"] == m["Target"] for m in mounts.values())  # same paths inside and out


def test_containers_run_as_the_images_user_on_the_host_network_tracking_to_the_server(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "secret-token")
    tracking = Served("http://127.0.0.1:5000", [], ready_by=1700000000.0)
    settings = runner_settings(tracking, tmp_path / "out", [], tmp_path / "cache")

    assert "user" not in settings and "group_add" not in settings  # the image's USER applies
    assert settings["network_mode"] == "host"
    env = settings["environment"]
    assert env["MLFLOW_TRACKING_URI"] == "http://127.0.0.1:5000"
    assert env["NLPFACTORY_TRACKING_READY_BY"] == "1700000000.0"  # the tasks wait for a server still starting
    assert env["NLPFACTORY_CACHE"] == str(tmp_path / "cache")
    assert env["MLFLOW_TRACKING_TOKEN"] == "secret-token"


class FakeImages:
    def __init__(self, user):
        self.user = user

    def get(self, name):
        import docker

        if self.user is None:
            raise docker.errors.ImageNotFound(name)
        return type("Image", (), {"attrs": {"Config": {"User": self.user}}})()


@pytest.mark.parametrize("user, uid", [("1000", 1000), ("4242:0", 4242)])
def test_the_images_user_is_read_from_the_image(monkeypatch, user, uid):
    monkeypatch.setattr("nlpfactory.image.docker_client", lambda: type("C", (), {"images": FakeImages(user)})())
    assert image_uid("nlpfactory:test") == uid


@pytest.mark.parametrize("user, message", [(None, "not on this Docker engine"), ("", "not as a numeric non-root"),
                                           ("nlpfactory", "not as a numeric non-root")])
def test_an_image_without_a_numeric_user_or_not_built_is_refused(monkeypatch, user, message):
    monkeypatch.setattr("nlpfactory.image.docker_client", lambda: type("C", (), {"images": FakeImages(user)})())
    with pytest.raises(InputError, match=message):
        image_uid("nlpfactory:test")


def test_folders_are_left_alone_when_the_image_user_is_this_user(tmp_path):
    (tmp_path / "out").mkdir()
    hand_over([tmp_path / "out"], os.getuid())
    assert (tmp_path / "out").stat().st_uid == os.getuid()


def test_another_users_image_is_refused_with_how_to_build_ones_own(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "getuid", lambda: 1234)
    with pytest.raises(InputError, match="uid 1000, you are uid 1234") as err:
        hand_over([tmp_path], 1000)
    assert "nlpfactory image build" in err.value.fix


@pytest.mark.skipif(os.getuid() != 0, reason="handing folders to another uid needs root")
def test_as_root_the_runs_folders_are_handed_to_the_images_user(tmp_path):
    (tmp_path / "cache" / "checkpoints").mkdir(parents=True)
    (tmp_path / "cache" / "checkpoints" / "state.pt").write_text("x")
    hand_over([tmp_path / "out", tmp_path / "cache"], 4242)

    owned = [tmp_path / "out", tmp_path / "cache", tmp_path / "cache" / "checkpoints" / "state.pt"]
    assert {(p.stat().st_uid, p.stat().st_gid) for p in owned} == {(4242, 0)}


def test_nested_paths_are_mounted_once(tmp_path):
    data = tmp_path / "cache" / "corpus.tsv"
    settings = runner_settings(Served("http://x", [tmp_path / "cache"]), tmp_path / "out", [data], tmp_path / "cache")

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
