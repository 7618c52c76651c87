"""Start the local runner's task processes warm.

kfp's SubprocessRunner starts a fresh Python for every task, and each one spends seconds
importing the same things (kfp's executor, pandas, MLflow and its SQLite store, torch,
transformers) before its stage does any work: most of a local pipeline's overhead
(bench/pipeline_overhead.py). Here one *starter* process imports them once, and each task
is a fork of it, so a task starts with all of that already in memory.

The starter answers at once and imports its list one module at a time. A task that asks in
between is forked as soon as what it needs is imported: the first, light task (prepare_data)
once kfp, pandas and MLflow are, so it does not wait for torch; finetune once torch and
transformers are; any other once the whole list is. A fork never imports what the starter is importing at the same time: on one core that
would be the same seconds spent twice (bench/pipeline_overhead.py measured a warm finetune
pipeline's second task starting 2.5 s after launch when it did). It never starts a thread of its own, so forking it is safe; the modules it loads
only import, they run nothing (a library that had started worker threads would not have them
in the fork).

To kfp nothing changes: its task handler's `run_local_subprocess` (the one function that
starts a task process) is swapped for the length of the run. For a task command of the shape
kfp 2.17 gives lightweight components (`sh -ec` writing the component's source to a file and
running `python3 -m kfp.dsl.executor_main`), the runner does what that script does, sends the
arguments, environment and working folder to the starter with the task's stdout/stderr as file
descriptors, streams its output as kfp does, and returns its exit status. Any other command,
or a starter that is gone, takes kfp's own path.

NLPFACTORY_WARM_START=0 turns it off.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

# What the tasks import, lightest and first-needed first.
PRELOAD = ("kfp.dsl.executor_main", "nlpfactory.components.stage", "pandas", "pyarrow.parquet",
           "nlpfactory.data.prepare", "mlflow", "mlflow.store.tracking.sqlalchemy_store", "torch",
           "transformers", "transformers.models.bert.modeling_bert", "nlpfactory.finetune",
           "nlpfactory.evaluate", "nlpfactory.serving.export")
EXECUTOR = "kfp.dsl.executor_main"
# How much of PRELOAD a task waits for, by its component; any other waits for all of it.
NEEDS = {"prepare_data": PRELOAD.index("mlflow.store.tracking.sqlalchemy_store") + 1,
         "finetune": PRELOAD.index("nlpfactory.finetune") + 1}
HEADER = struct.Struct("!Q")


# The runner's side.

@contextlib.contextmanager
def warm_tasks() -> Iterator[None]:
    """For the length of a pipeline run, start its kfp tasks as forks of a warm starter."""
    if os.environ.get("NLPFACTORY_WARM_START", "1") == "0":
        yield
        return
    from kfp.local import subprocess_task_handler as handler

    folder = Path(tempfile.mkdtemp(prefix="nlpfactory-starter-"))
    address = str(folder / "socket")
    starter = subprocess.Popen([sys.executable, "-m", __name__, address], stdin=subprocess.DEVNULL)
    original = handler.run_local_subprocess

    def run_local_subprocess(full_command, env_vars=None):
        script = _task_script(full_command)
        if script is None or starter.poll() is not None:
            return original(full_command=full_command, env_vars=env_vars)
        try:
            return _run_forked(address, full_command, {**os.environ, **(env_vars or {})})
        except OSError:  # the starter is gone: this task, and the rest, start cold
            return original(full_command=full_command, env_vars=env_vars)

    handler.run_local_subprocess = run_local_subprocess
    try:
        yield
    finally:
        if handler.run_local_subprocess is run_local_subprocess:  # a run started meanwhile keeps its own
            handler.run_local_subprocess = original
        starter.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            starter.wait(5)
        if starter.poll() is None:
            starter.kill()
            starter.wait()
        shutil.rmtree(folder, ignore_errors=True)


def _task_script(full_command: list[str]) -> str | None:
    """The script of a kfp lightweight-component command, or None for any other command."""
    if len(full_command) < 4 or full_command[:2] != ["sh", "-ec"]:
        return None
    script = full_command[2]
    if EXECUTOR not in script or '"$program_path/ephemeral_component.py"' not in script or "pip install" in script:
        return None
    return script


def _run_forked(address: str, full_command: list[str], env: dict[str, str]) -> int:
    """What kfp's `sh -ec` script does, with the Python process forked from the starter."""
    source, arguments = full_command[3], full_command[4:]
    program = Path(tempfile.mkdtemp())
    try:
        (program / "ephemeral_component.py").write_text(source)
        request = json.dumps({"argv": ["--component_module_path", str(program / "ephemeral_component.py"),
                                       *arguments],
                              "env": {**env, "_KFP_RUNTIME": "true"}, "cwd": os.getcwd(),
                              "needs": NEEDS.get(_component(arguments), len(PRELOAD))}).encode()
        with socket.socket(socket.AF_UNIX) as conn:
            _connect(conn, address)
            read, write = os.pipe()
            stdin = os.open(os.devnull, os.O_RDONLY)
            try:
                socket.send_fds(conn, [HEADER.pack(len(request))], [stdin, write, write])
            finally:
                os.close(write)
                os.close(stdin)
            conn.sendall(request)
            with os.fdopen(read, encoding="utf-8", errors="replace") as output:
                for line in output:  # as kfp streams a task's output
                    print(line, end="")
            print("\n")
            reply = conn.recv(64).decode()
        return int(reply) if reply.strip().lstrip("-").isdigit() else 1  # no reply: the task was killed
    finally:
        shutil.rmtree(program, ignore_errors=True)


def _component(arguments: list[str]) -> str:
    """The component function a kfp task command runs (`--function_to_execute NAME`)."""
    flag = "--function_to_execute"
    return arguments[arguments.index(flag) + 1] if flag in arguments[:-1] else ""


def _connect(conn: socket.socket, address: str, wait_s: float = 30.0) -> None:
    deadline = time.monotonic() + wait_s
    while True:
        try:
            conn.connect(address)
            return
        except (FileNotFoundError, ConnectionRefusedError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


# The starter's side.

def serve(address: str) -> None:
    import gc
    import signal

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # forks are reaped by the kernel; they report themselves
    gc.disable()  # imports only make objects that live on: collecting while importing is wasted work
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(address)
        listener.listen(8)
        listener.setblocking(False)
        waiting: list[tuple] = []  # tasks that need more of PRELOAD than is imported yet
        for loaded, module in enumerate(PRELOAD):
            waiting = _start_ready(waiting + _requests_waiting(listener), loaded, listener)
            with contextlib.suppress(Exception):  # a module that fails here is the fork's to import (and report)
                importlib.import_module(module)
        gc.freeze()  # forks then neither scan nor copy what every task shares
        gc.enable()
        _start_ready(waiting + _requests_waiting(listener), len(PRELOAD), listener)
        listener.setblocking(True)
        while True:
            conn, _ = listener.accept()
            _start_ready([r for r in [_read_request(conn)] if r], len(PRELOAD), listener)


def _requests_waiting(listener: socket.socket) -> list[tuple]:
    """The requests of the tasks that asked since the last look (without blocking)."""
    found = []
    while True:
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            return found
        conn.setblocking(True)
        request = _read_request(conn)
        if request:
            found.append(request)


def _read_request(conn: socket.socket) -> tuple | None:
    """(connection, its three file descriptors, the request); a malformed one is dropped (its
    runner sees no status)."""
    fds: list[int] = []
    try:
        header, fds, _, _ = socket.recv_fds(conn, HEADER.size, 3)
        if len(header) < HEADER.size or len(fds) != 3:
            raise ValueError("no header")
        (size,) = HEADER.unpack(header)
        data = bytearray()
        while len(data) < size:
            chunk = conn.recv(size - len(data))
            if not chunk:
                raise ValueError("cut short")
            data += chunk
        return conn, fds, json.loads(data)
    except (OSError, ValueError):
        _close(conn, fds)
        return None


def _start_ready(requests: list[tuple], loaded: int, listener: socket.socket) -> list[tuple]:
    """Fork a task for each request whose needs are imported; return the others."""
    later = []
    for conn, fds, request in requests:
        if request.get("needs", 0) > loaded:
            later.append((conn, fds, request))
            continue
        try:
            if os.fork() == 0:
                listener.close()
                _task(request, fds, conn)
        except OSError:
            pass  # no fork: the runner sees no status
        finally:
            _close(conn, fds)
    return later


def _close(conn: socket.socket, fds: list[int]) -> None:
    for fd in fds:
        os.close(fd)
    conn.close()


def _task(request: dict, fds: list[int], conn: socket.socket) -> None:
    """In the fork: become the task process, run kfp's executor, report the exit status."""
    import atexit
    import gc
    import signal
    import traceback

    gc.enable()  # a fork made while the starter was still importing
    for sig in (signal.SIGCHLD, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    sys.stdin = open(0, closefd=False)
    sys.stdout = open(1, "w", buffering=1, closefd=False)
    sys.stderr = open(2, "w", buffering=1, closefd=False)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    sys.argv = [EXECUTOR, *request["argv"]]
    code = 0
    try:
        importlib.import_module(EXECUTOR).executor_main()  # what `python -m` of it runs
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException:  # noqa: BLE001 - reported as Python would, then the status
        traceback.print_exc()
        code = 1
    try:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
        conn.sendall(str(code).encode())
    finally:
        os._exit(code)


if __name__ == "__main__":
    serve(sys.argv[1])
