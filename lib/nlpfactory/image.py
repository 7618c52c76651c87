"""The image every component runs in and `nlpfactory serve` is deployed with: its name, set in
one place (components and the KServe manifest read IMAGE; NLPFACTORY_IMAGE overrides it when
compiling for your own registry), and its build (and push) through the docker SDK.

Where torch comes from and which base image the build starts from are build arguments, so a
machine without registry access builds it too: `docker/local-engine.sh base` makes a base
from Debian's archive, and a folder of wheels is served to the build on loopback (the build
runs with the host's network, so it sees 127.0.0.1 and whatever package index the host sees).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from nlpfactory.errors import InputError

DEFAULT_TAG = "ghcr.io/nlpfactory/nlpfactory:0.1.0"
IMAGE = os.environ.get("NLPFACTORY_IMAGE", DEFAULT_TAG)
REGISTRY_BASE = "python:3.11-slim"
NODE_IMAGE = "node:20-slim"
LOCAL_BASE = "nlpfactory/base:bookworm"  # docker/local-engine.sh base makes it
HOST_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
CLUSTER_UID = 1000  # the image user's uid when the builder is root (and docker/Dockerfile's default)


@dataclasses.dataclass
class ImageBuild:
    """What `nlpfactory image build` builds."""

    tag: str = DEFAULT_TAG
    gpu: bool = False  # the CUDA build of torch (PyPI's Linux wheel) instead of the CPU one
    base: str = ""  # base image; empty: the registry's python:3.11-slim, else the local Debian one
    torch_source: str = "pytorch"  # "pytorch" (its CPU index), "pypi", an index URL, or a wheel folder
    torch_version: str = ""  # empty: docker/install.sh's default
    ca_bundle: str = ""  # a CA bundle pip trusts during the build (e.g. the host's, behind a proxy)
    push: bool = False
    uid: int = 0  # the image user's uid; 0: the building user's own (1000 when that is root)

    def __post_init__(self):
        if self.uid == 0:
            self.uid = os.getuid() or CLUSTER_UID
        if self.uid < 1:
            raise InputError(f"--uid {self.uid}: the image's user is never root",
                             fix=f"give a user id from 1 up (e.g. {CLUSTER_UID}, or yours: $(id -u))")
        if self.gpu and self.tag == DEFAULT_TAG:
            self.tag = f"{DEFAULT_TAG}-gpu"
        folder = Path(self.torch_source).expanduser()
        if not (self.torch_source in ("pytorch", "pypi") or "://" in self.torch_source or folder.is_dir()):
            raise InputError(f"--torch-source {self.torch_source!r} is neither pytorch, pypi, an index URL "
                             "nor a folder", fix="give a folder of torch wheels, e.g. --torch-source ./wheels")
        if self.ca_bundle and not Path(self.ca_bundle).is_file():
            raise InputError(f"--ca-bundle {self.ca_bundle}: no such file", fix=f"e.g. {HOST_CA_BUNDLE}")


@dataclasses.dataclass
class BuiltImage:
    tag: str
    size_mb: float
    layers: list[tuple[str, float]]  # (instruction, MB), largest first
    pushed: bool = False


def project_root() -> Path:
    """The source tree that holds docker/Dockerfile (the image is built from a checkout)."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "docker" / "Dockerfile").is_file():
        raise InputError("docker/Dockerfile not found next to the installed nlpfactory",
                         fix="run `nlpfactory image build` from a source checkout (pip install -e .)")
    return root


def docker_client():
    import docker

    try:
        client = docker.from_env()
        client.ping()
    except Exception as err:  # noqa: BLE001 - every way of not reaching the engine says the same
        raise InputError(f"no Docker engine answers ({err})",
                         fix="start one: `make engine` (docker/local-engine.sh)") from None
    return client


def pick_base(client, wanted: str) -> str:
    """The base to build from: the one asked for, else the registry's if it is here or pulls,
    else the local Debian one."""
    import docker

    if wanted:
        return wanted
    for name in (REGISTRY_BASE, LOCAL_BASE):
        with contextlib.suppress(docker.errors.ImageNotFound):
            client.images.get(name)
            return name
    try:
        client.images.pull(REGISTRY_BASE)
        return REGISTRY_BASE
    except docker.errors.APIError:
        raise InputError(f"{REGISTRY_BASE} cannot be pulled and {LOCAL_BASE} does not exist",
                         fix="make one from Debian's archive: `make base-image`") from None


@contextlib.contextmanager
def serve_on_loopback(files: dict[str, Path]) -> Iterator[str]:
    """Serve folders/files under the given names at http://127.0.0.1:PORT/ for the build."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for name, path in files.items():
            (Path(tmp) / name).symlink_to(path.resolve())
        handler = functools.partial(_QuietHandler, directory=tmp)
        server = _bind(handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()


# The URLs end up in build arguments, which are part of every layer's cache key: a fixed
# port keeps the layers reusable from one build to the next (a taken port costs a rebuild).
BUILD_SERVER_PORT = 47613


def _bind(handler) -> http.server.ThreadingHTTPServer:
    try:
        return http.server.ThreadingHTTPServer(("127.0.0.1", BUILD_SERVER_PORT), handler)
    except OSError:
        return http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


def build_args(spec: ImageBuild, base: str, served: str) -> dict[str, str]:
    # The studio-assets stage: node:20-slim comes from the same registry as python:3.11-slim;
    # without it, the base image (which takes npm from Debian's archive) does the job.
    args = {"BASE_IMAGE": base, "ASSETS_IMAGE": NODE_IMAGE if base == REGISTRY_BASE else base,
            "TORCH_VARIANT": "cuda" if spec.gpu else "cpu", "NLPFACTORY_UID": str(spec.uid)}
    if spec.torch_version:
        args["TORCH_VERSION"] = spec.torch_version
    if spec.torch_source == "pypi" or "://" in spec.torch_source:
        args["TORCH_INDEX"] = spec.torch_source
    elif spec.torch_source != "pytorch":
        args["TORCH_FIND_LINKS"] = f"{served}/wheels/"
    if spec.ca_bundle:
        args["BUILD_CA_URL"] = f"{served}/ca.pem"
    return args


def build(spec: ImageBuild, log=print) -> BuiltImage:
    """Build the image from docker/Dockerfile (layers reused from earlier builds) and report
    its size; push it when asked."""
    from docker.errors import BuildError

    client = docker_client()
    base = pick_base(client, spec.base)
    served = {}
    if spec.torch_source not in ("pytorch", "pypi") and "://" not in spec.torch_source:
        served["wheels"] = Path(spec.torch_source).expanduser()
    if spec.ca_bundle:
        served["ca.pem"] = Path(spec.ca_bundle)
    with serve_on_loopback(served) as url:
        args = build_args(spec, base, url)
        log(f"building {spec.tag} from {base} ({', '.join(f'{k}={v}' for k, v in args.items())})")
        try:
            # network_mode=host: the build reaches the loopback server and the host's index.
            stream = client.api.build(path=str(project_root()), dockerfile="docker/Dockerfile",
                                      tag=spec.tag, buildargs=args, network_mode="host",
                                      rm=True, decode=True)
            _follow(stream, log)
        except BuildError as err:
            raise InputError(f"the image build failed: {err}", fix="see the build log above") from None
    built = describe(client, spec.tag)
    if spec.push:
        push(client, spec.tag, log)
        built.pushed = True
    return built


def _follow(stream, log) -> None:
    for chunk in stream:
        if "error" in chunk:
            raise InputError(f"the image build failed: {chunk['error'].strip()}",
                             fix="see the build log above")
        text = chunk.get("stream", "").rstrip()
        if text:
            log(text)


def describe(client, tag: str) -> BuiltImage:
    image = client.images.get(tag)
    layers = [(_instruction(h.get("CreatedBy") or ""), h.get("Size", 0) / 1e6) for h in image.history()]
    layers = sorted((x for x in layers if x[1] >= 1), key=lambda x: -x[1])
    return BuiltImage(tag, image.attrs["Size"] / 1e6, layers)


def _instruction(created_by: str) -> str:
    """A history entry as the Dockerfile line it came from, without the build-argument prefix."""
    import re

    text = " ".join(created_by.split())
    text = re.sub(r"^\|\d+ (\S+=\S* )*", "", text)  # "|3 A=1 B=2 C=3 /bin/sh -c ..."
    text = re.sub(r"^/bin/sh -c (#\(nop\) )?", "", text)
    return text[:90] or "(base image)"


def push(client, tag: str, log=print) -> None:
    repository, _, version = tag.rpartition(":")
    for chunk in client.images.push(repository, tag=version, stream=True, decode=True):
        if "error" in chunk:
            raise InputError(f"pushing {tag} failed: {chunk['error']}",
                             fix="`docker login` to the registry, or tag for one you can push to")
        if chunk.get("status") and "id" not in chunk:
            log(chunk["status"])


def engine_available() -> str:
    """Why no Docker engine can be used here ("" when one answers)."""
    try:
        docker_client()
    except InputError as err:
        return str(err)
    except ImportError:
        return "the docker package is not installed"
    return ""


def host_ca_bundle() -> str:
    """The host's CA bundle, when pip on the host is told to use it (a proxy's CA)."""
    for name in ("PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        if os.environ.get(name) and Path(os.environ[name]).is_file():
            return os.environ[name]
    return ""
