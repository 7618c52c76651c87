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
  by a tracking server started on 127.0.0.1 for the run (pipelines/mlflow_server.py; the
  first container starts while it does), its artifact folder mounted where the store says it
  is; a tracking server URI is passed through. Containers use the host's network, so loopback
  is the same loopback.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from nlpfactory.errors import InputError
from nlpfactory.pipelines.mlflow_server import Served, tracking_server
from nlpfactory.tracking import ENV_PIPELINE, ENV_PIPELINE_PARAMS, ENV_PIPELINE_RUN_ID, ENV_TRACKING_READY_BY

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


def runner_settings(tracking: Served, pipeline_root: Path, readable: list[Path], cache: Path) -> dict:
    """The `docker run` arguments of every task (kfp's DockerRunner passes them on; it
    mounts the pipeline root itself)."""
    from docker.types import Mount

    cache.mkdir(parents=True, exist_ok=True)
    writable = [p for p in _outermost([*tracking.writable, cache]) if not _under(p, pipeline_root)]
    covered = [pipeline_root, *writable]
    mounts = [Mount(str(p), str(p), type="bind") for p in writable]
    mounts += [Mount(str(p), str(p), type="bind", read_only=True)
               for p in _outermost(readable) if not any(_under(p, w) for w in covered)]
    environment = {"MLFLOW_TRACKING_URI": tracking.uri, "NLPFACTORY_CACHE": str(cache),
                   "HF_HOME": str(cache / "huggingface"), "HOME": IMAGE_HOME,
                   **{k: os.environ[k] for k in (*PASSED_THROUGH, ENV_PIPELINE, ENV_PIPELINE_RUN_ID, ENV_PIPELINE_PARAMS)
                      if os.environ.get(k)}}
    if tracking.ready_by:
        environment[ENV_TRACKING_READY_BY] = f"{tracking.ready_by:.1f}"
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
    with tracking_server(tracking_uri()) as tracking:
        hand_over([pipeline_root, cache, *tracking.writable], uid)
        settings = runner_settings(tracking, pipeline_root, readable, cache)
        yield local.DockerRunner(**settings), arguments


def task_image(wanted: str = "") -> str:
    """The image the tasks run in: the components' image, which `--image` sets by setting
    NLPFACTORY_IMAGE before they are imported."""
    from nlpfactory.components.image import IMAGE

    if wanted and wanted != IMAGE:
        raise InputError(f"the components were loaded for image {IMAGE}, not {wanted}",
                         fix=f"set NLPFACTORY_IMAGE={wanted} before nlpfactory's pipelines are imported")
    return IMAGE
