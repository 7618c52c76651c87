"""`nlpfactory image build --gpu / --push / --uid`, checked against a fake Docker client: no
CUDA image is built and no registry is reached here (a local registry needs its own image,
which cannot be pulled on these machines), so what is held is what the build and the push
ask the engine for, and how their failures read."""

from __future__ import annotations

import os

import pytest

from nlpfactory import image as image_module
from nlpfactory.errors import InputError
from nlpfactory.image import DEFAULT_TAG, ImageBuild, build


class FakeImage:
    attrs = {"Size": 2_232_000_000}

    def history(self):
        return [{"CreatedBy": "|2 TORCH_VARIANT=cuda /bin/sh -c bash /usr/local/bin/nlpfactory-install torch",
                 "Size": 865_000_000}, {"CreatedBy": "", "Size": 191_000_000}]


class FakeDocker:
    """The parts of docker.DockerClient that build() and push() use, recording the calls."""

    def __init__(self, push_chunks=None):
        self.built, self.pushed = [], []
        self._push_chunks = push_chunks or [{"status": "The push refers to repository [registry.example.com/ml/nlpfactory]"},
                                            {"status": "Pushed", "id": "abc123"},
                                            {"status": "0.1.0-gpu: digest: sha256:0 size: 1234"}]
        self.api = self
        self.images = self

    def build(self, **kwargs):
        self.built.append(kwargs)
        return iter([{"stream": "Step 1/20 : ARG BASE_IMAGE\n"}, {"stream": "Successfully built 0123\n"}])

    def get(self, name):
        import docker

        if name == "python:3.11-slim":
            raise docker.errors.ImageNotFound(name)
        return FakeImage()

    def push(self, repository, tag, stream, decode):
        self.pushed.append((repository, tag))
        return iter(self._push_chunks)


@pytest.fixture
def fake_docker(monkeypatch):
    client = FakeDocker()
    monkeypatch.setattr(image_module, "docker_client", lambda: client)
    return client


def test_gpu_build_asks_for_the_cuda_torch_under_its_own_tag(fake_docker):
    built = build(ImageBuild(gpu=True), log=lambda _: None)

    (call,) = fake_docker.built
    assert call["tag"] == built.tag == f"{DEFAULT_TAG}-gpu"
    assert call["dockerfile"] == "docker/Dockerfile" and call["network_mode"] == "host"
    assert call["buildargs"]["TORCH_VARIANT"] == "cuda"
    assert call["buildargs"]["BASE_IMAGE"] == image_module.LOCAL_BASE  # the registry base is not here
    assert built.layers[0] == ("bash /usr/local/bin/nlpfactory-install torch", 865.0)
    assert fake_docker.pushed == [] and not built.pushed


def test_cpu_build_keeps_the_plain_tag_and_cpu_torch(fake_docker):
    build(ImageBuild(), log=lambda _: None)

    assert fake_docker.built[0]["tag"] == DEFAULT_TAG
    assert fake_docker.built[0]["buildargs"]["TORCH_VARIANT"] == "cpu"


def test_push_sends_the_built_tag_to_its_registry(fake_docker):
    said = []
    built = build(ImageBuild(gpu=True, tag="registry.example.com/ml/nlpfactory:0.1.0-gpu", push=True), log=said.append)

    assert fake_docker.pushed == [("registry.example.com/ml/nlpfactory", "0.1.0-gpu")]
    assert built.pushed
    assert "0.1.0-gpu: digest: sha256:0 size: 1234" in said  # progress lines with a layer id are not echoed
    assert "Pushed" not in said


def test_a_refused_push_says_to_log_in(monkeypatch):
    client = FakeDocker(push_chunks=[{"error": "denied: requested access to the resource is denied"}])
    monkeypatch.setattr(image_module, "docker_client", lambda: client)

    with pytest.raises(InputError, match="denied") as err:
        build(ImageBuild(tag="registry.example.com/ml/nlpfactory:1", push=True), log=lambda _: None)
    assert "docker login" in err.value.fix


def test_the_image_user_is_the_builders_uid_and_never_root(fake_docker):
    build(ImageBuild(), log=lambda _: None)
    build(ImageBuild(uid=1000), log=lambda _: None)

    uids = [call["buildargs"]["NLPFACTORY_UID"] for call in fake_docker.built]
    assert uids == [str(os.getuid() or 1000), "1000"]
    with pytest.raises(InputError, match="never root"):
        ImageBuild(uid=-1)
