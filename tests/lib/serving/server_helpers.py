"""Start `nlpfactory serve` as a subprocess on a free 127.0.0.1 port and wait until ready."""

import socket
import subprocess
import sys
import time

import httpx

MAX_BATCH, MAX_BYTES = 4, 12_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Makes the named top-level packages unimportable, as in an install that lacks them.
BLOCKER = """
import importlib.abc, sys
class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.partition(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, Absent())
"""


def start_server(export_dir, port, log_path, *extra, absent=()):
    """`absent`: packages the server process cannot import."""
    code = (
        BLOCKER.format(blocked=set(absent)) if absent else ""
    ) + "import sys; from nlpfactory.pipelines.cli import main; sys.exit(main(sys.argv[1:]))"
    args = [
        "serve",
        str(export_dir),
        "--port",
        str(port),
        "--max-batch",
        str(MAX_BATCH),
        "--max-request-bytes",
        str(MAX_BYTES),
        "--graceful-timeout",
        "5",
        *extra,
    ]
    log = open(log_path, "w")
    process = subprocess.Popen([sys.executable, "-c", code, *args], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited early:\n{open(log_path).read()}")
        try:
            if httpx.get(f"{url}/v2/health/ready", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"the server did not become ready:\n{open(log_path).read()}")
