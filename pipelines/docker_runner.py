"""Run a pipeline's tasks in the nlpfactory image with kfp's local DockerRunner.

What a container needs from this machine, and how it gets it:
- its outputs: kfp mounts the pipeline root; tasks run as the image's user, whose uid is the
  building user's (`nlpfactory image build` sets it), so what they write is ours, with no
  world-writable folders and no chmod afterwards (as root, the run's folders are handed to
  the image's user instead);
- data files named in the arguments: each existing host path is mounted read-only at the
  same absolute path;
- the cache (datahub corpora, resumable training state): this machine's, mounted read-write;
- MLflow: the same store as a subprocess run. A local store (SQLite file or folder) is served
  by an `mlflow server` started on 127.0.0.1 for the run, its artifact folder mounted where
  the store says it is; a tracking server URI is passed through. Containers use the host's
  network, so loopback is the same loopback.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from nlpfactory.errors import InputError
from nlpfactory.tracking import ENV_PIPELINE, ENV_PIPELINE_PARAMS, ENV_PIPELINE_RUN_ID

# Passed through to the containers when set here (credentials of a tracking server / store).
PASSED_THROUGH = ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN",
                  "MLFLOW_TRACKING_INSECURE_TLS", "MLFLOW_S3_ENDPOINT_URL", "AWS_ACCESS_KEY_ID",
                  "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "HF_ENDPOINT")
IMAGE_HOME = "/home/nlpfactory"  # docker/Dockerfile: the image user's home, group 0 writable


def image_uid(image: str) -> int:
    """The uid the image's user runs as (docker/Dockerfile's USER). The image must be on this
    engine: kfp would otherwise try to pull it, which fails without a registry after a long wait."""
    import docker
    from nlpfactory.image import docker_client

    try:
        user = docker_client().images.get(image).attrs["Config"].get("User") or "0"
    except docker.errors.ImageNotFound:
        raise InputError(f"image {image} is not on this Docker engine",
                         fix="build it: `nlpfactory image build` (or `make image`), or pass --image") from None
    uid = user.split(":")[0]
    if not uid.isdigit() or int(uid) == 0:
        raise InputError(f"image {image} runs as user {user!r}, not as a numeric non-root uid",
                         fix="build it with `nlpfactory image build` (its USER is a uid)")
    return int(uid)


def hand_over(folders: list[Path], uid: int) -> None:
    """Make the folders the containers write belong to the image's user. Nothing to do when
    that is this user (the image was built for them); as root, the folders are handed to it
    (root still reads and writes them); anyone else needs an image built for their uid."""
    if uid == os.getuid():
        return
    if os.getuid() != 0:
        raise InputError(f"the image's user is uid {uid}, you are uid {os.getuid()}: its containers "
                         "could not write your outputs", fix="build the image for you: `nlpfactory image build` "
                         "(it takes your uid), then run again")
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        for path in (folder, *folder.rglob("*")):
            if path.lstat().st_uid != uid:
                os.lchown(path, uid, 0)


def host_paths(arguments: dict) -> tuple[dict, list[Path]]:
    """Arguments with host paths made absolute, and those paths (to mount read-only)."""
    out, paths = {}, []
    for name, value in arguments.items():
        if isinstance(value, str) and value and os.path.exists(value):
            path = Path(value).resolve()
            out[name] = str(path)
            paths.append(path)
        else:
            out[name] = value
    return out, paths


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def local_store(uri: str) -> tuple[str, Path] | None:
    """(backend store URI, artifact folder) of a store on this machine's disk, else None."""
    if uri.startswith("sqlite:///"):
        db = Path(uri[len("sqlite:///"):]).resolve()
        return f"sqlite:///{db}", db.parent / "mlartifacts"
    if uri.startswith(("http://", "https://", "databricks")):
        return None
    folder = Path(uri[len("file://"):] if uri.startswith("file://") else uri).resolve()
    return folder.as_uri(), folder


@contextlib.contextmanager
def tracking_server(uri: str, timeout: float = 180) -> Iterator[tuple[str, list[Path]]]:
    """(URI the containers track to, folders they must write). Starts `mlflow server` on
    loopback over a local store; passes a server URI through."""
    store = local_store(uri)
    if store is None:
        yield uri, []
        return
    backend, artifacts = store
    artifacts.mkdir(parents=True, exist_ok=True)
    port = free_port()
    # --no-serve-artifacts: runs record the artifact folder's path and the containers write
    # there through the mount, exactly as a subprocess run does.
    command = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", backend,
               "--default-artifact-root", artifacts.as_uri(), "--no-serve-artifacts",
               "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    # MLflow's job execution (GenAI scorer jobs) starts a job runner and a task queue beside the
    # server; nothing here uses it, and it more than doubled the start (28 s -> 12.6 s without,
    # measured under load by bench/pipeline_overhead.py).
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    # Its log goes to a file: a pipe nobody reads fills up with the access log of a long run
    # and stalls the server.
    with tempfile.TemporaryFile("w+") as log:
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log, text=True, env=env)
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_healthy(server, url, timeout, log)
            yield url, [artifacts]
        finally:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()


def _wait_healthy(server: subprocess.Popen, url: str, timeout: float, log) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log.seek(0)
            raise InputError(f"the MLflow server for the containers exited: {log.read()[-2000:]}",
                             fix="check MLFLOW_TRACKING_URI, or give a reachable tracking server")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(f"{url}/health", timeout=2) as reply:
                if reply.status == 200:
                    return
        time.sleep(0.3)
    raise InputError(f"the MLflow server for the containers did not answer within {timeout:.0f} s",
                     fix="check MLFLOW_TRACKING_URI")


def runner_settings(tracking_uri: str, pipeline_root: Path, writable: list[Path],
                    readable: list[Path], cache: Path) -> dict:
    """The `docker run` arguments of every task (kfp's DockerRunner passes them on; it
    mounts the pipeline root itself)."""
    from docker.types import Mount

    cache.mkdir(parents=True, exist_ok=True)
    writable = [p for p in _outermost([*writable, cache]) if not _under(p, pipeline_root)]
    covered = [pipeline_root, *writable]
    mounts = [Mount(str(p), str(p), type="bind") for p in writable]
    mounts += [Mount(str(p), str(p), type="bind", read_only=True)
               for p in _outermost(readable) if not any(_under(p, w) for w in covered)]
    environment = {"MLFLOW_TRACKING_URI": tracking_uri, "NLPFACTORY_CACHE": str(cache),
                   "HF_HOME": str(cache / "huggingface"), "HOME": IMAGE_HOME,
                   **{k: os.environ[k] for k in (*PASSED_THROUGH, ENV_PIPELINE, ENV_PIPELINE_RUN_ID, ENV_PIPELINE_PARAMS)
                      if os.environ.get(k)}}
    # No `user`: the containers run as the image's own user (see hand_over).
    return {"network_mode": "host", "mounts": mounts, "environment": environment}


def _under(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _outermost(paths: list[Path]) -> list[Path]:
    """Drop paths inside another one of the list (docker refuses nested duplicate mounts)."""
    unique = sorted(set(paths), key=lambda p: len(p.parts))
    kept: list[Path] = []
    for path in unique:
        if not any(_under(path, k) for k in kept):
            kept.append(path)
    return kept


@contextlib.contextmanager
def docker_runner(arguments: dict, pipeline_root: Path, image: str) -> Iterator[tuple[object, dict]]:
    """(kfp DockerRunner, arguments with host paths made absolute) for one pipeline run."""
    from kfp import local

    from nlpfactory.paths import cache_dir
    from nlpfactory.tracking import tracking_uri

    uid = image_uid(image)
    arguments, readable = host_paths(arguments)
    cache = cache_dir().resolve()
    with tracking_server(tracking_uri()) as (uri, writable):
        hand_over([pipeline_root, cache, *writable], uid)
        settings = runner_settings(uri, pipeline_root, writable, readable, cache)
        yield local.DockerRunner(**settings), arguments


def task_image(wanted: str = "") -> str:
    """The image the tasks run in: the components' image, which `--image` sets by setting
    NLPFACTORY_IMAGE before they are imported."""
    from nlpfactory.components.image import IMAGE

    if wanted and wanted != IMAGE:
        raise InputError(f"the components were loaded for image {IMAGE}, not {wanted}",
                         fix=f"set NLPFACTORY_IMAGE={wanted} before nlpfactory's pipelines are imported")
    return IMAGE
