"""The MLflow tracking server a docker run starts on loopback over a store on this machine's
disk, so the containers' runs land in the same store as a subprocess run's.

Two things keep it off the run's wall time:
- it is one process: MLflow's own ASGI app under uvicorn, its store opened before it serves.
  `mlflow server` takes two in a row (its command line imports MLflow's server and opens the
  store, then starts uvicorn, which imports them again): 6.9 s of CPU against 3.1 s here,
  timed by hand; bench/pipeline_overhead.py times both starts to answering;
- the run does not wait for it: the first container starts while it does, and every task is
  told until when the server may still be starting (NLPFACTORY_TRACKING_READY_BY), so its
  tracker waits for it until then instead of giving up on the first refused connection. The
  run checks at the end that the server did come up, and fails with its log if not.

    python -m nlpfactory.pipelines.mlflow_server BACKEND_STORE_URI ARTIFACT_ROOT_URI PORT
"""

from __future__ import annotations

import contextlib
import dataclasses
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


@dataclasses.dataclass(frozen=True)
class Served:
    """What the containers track to and may have to wait for."""

    uri: str
    writable: list[Path]  # folders the containers write (the store's artifacts)
    ready_by: float = 0.0  # epoch seconds until which the server may still be starting (0: it is up)


def local_store(uri: str) -> tuple[str, Path] | None:
    """(backend store URI, artifact folder) of a store on this machine's disk, else None."""
    if uri.startswith("sqlite:///"):
        db = Path(uri[len("sqlite:///"):]).resolve()
        return f"sqlite:///{db}", db.parent / "mlartifacts"
    if uri.startswith(("http://", "https://", "databricks")):
        return None
    folder = Path(uri[len("file://"):] if uri.startswith("file://") else uri).resolve()
    return folder.as_uri(), folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def tracking_server(uri: str, timeout: float = 180) -> Iterator[Served]:
    """Starts a server on loopback over a local store and yields at once, while it starts; a
    server URI is passed through. On a clean exit, fails when the server never answered."""
    store = local_store(uri)
    if store is None:
        yield Served(uri, [])
        return
    backend, artifacts = store
    artifacts.mkdir(parents=True, exist_ok=True)
    port = free_port()
    # Runs record the artifact folder's path and the containers write there through the
    # mount, exactly as a subprocess run does (the server does not proxy artifacts).
    command = [sys.executable, "-m", __name__, backend, artifacts.as_uri(), str(port)]
    # Its log goes to a file: a pipe nobody reads fills up with a long run's access log and
    # stalls the server.
    with tempfile.TemporaryFile("w+") as log:
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log, text=True)
        try:
            url, ready_by = f"http://127.0.0.1:{port}", time.time() + timeout
            yield Served(url, [artifacts], ready_by)
            wait_healthy(server, url, ready_by, log)
        finally:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()


def wait_healthy(server: subprocess.Popen, url: str, ready_by: float, log) -> None:
    """Return once the server answers /health; raise with its log when it exits first or is
    still silent at `ready_by` (epoch seconds: the clock the containers share)."""
    while True:
        exited = server.poll() is not None
        if not exited:
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{url}/health", timeout=2) as reply:
                    if reply.status == 200:
                        return
        if exited or time.time() >= ready_by:
            log.seek(0)
            why = "exited" if exited else "did not answer in time"
            raise InputError(f"the MLflow server for the containers {why}, so their runs were not tracked "
                             f"(their outputs are written); its log ends: {log.read()[-2000:]}",
                             fix="check MLFLOW_TRACKING_URI, or give a reachable tracking server")
        time.sleep(0.2)


def serve(backend: str, artifact_root: str, port: int) -> None:
    """MLflow's tracking server (REST API and UI, no artifact proxy) in this process."""
    # The variables `mlflow server` hands its uvicorn workers (MLflow's internal contract;
    # mlflow is pinned in constraints.txt, and tests/pipelines/test_mlflow_server.py logs a run
    # through this server into a store, so a release that changes them fails a test).
    from mlflow.server.constants import ARTIFACT_ROOT_ENV_VAR, BACKEND_STORE_URI_ENV_VAR, REGISTRY_STORE_URI_ENV_VAR

    os.environ.update({BACKEND_STORE_URI_ENV_VAR: backend, REGISTRY_STORE_URI_ENV_VAR: backend,
                       ARTIFACT_ROOT_ENV_VAR: artifact_root})
    import uvicorn
    from mlflow.server.fastapi_app import app
    from mlflow.server.handlers import initialize_backend_stores

    # Opened (and a fresh store's tables made) before serving: a task's first call would
    # otherwise pay for it, past the short timeout its tracker allows a call.
    initialize_backend_stores(backend, backend, artifact_root)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2], int(sys.argv[3]))
