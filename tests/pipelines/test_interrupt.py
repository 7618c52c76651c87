"""Ctrl-C or kill of `nlpfactory run` stops the task processes, says how to resume, exits
130 (143 for kill) without a traceback, and leaves no empty folders or kfp workspace."""

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from nlpfactory.pipelines import local, registry, warm_start


def test_an_interrupted_run_stops_its_tasks_and_cleans_up(tmp_path, monkeypatch):
    started = {}
    # A private temp folder: other kfp runs on the machine make workspaces in the shared one.
    private_tmp = tmp_path.parent / f"{tmp_path.name}-tmp"
    private_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))

    def pipeline():
        started["task"] = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        run_root = next(tmp_path.iterdir())
        (run_root / "pipeline-run" / "finetune").mkdir(parents=True)
        (run_root / "pipeline-run" / "finetune" / ".model.partial-x").mkdir()
        raise KeyboardInterrupt  # what Ctrl-C raises while kfp waits for the task

    monkeypatch.setattr(registry, "get", lambda name: pipeline)
    with pytest.raises(KeyboardInterrupt, match="Run the same command again to resume"):
        local.run_local("finetune", {}, tmp_path)
    assert started["task"].poll() is not None  # the task process was ended, not left running
    assert not list(tmp_path.iterdir())  # no empty task folders, no half outputs
    assert not list(private_tmp.glob("kfp-workspace-*"))


def test_an_interrupted_run_stops_the_tasks_forked_by_the_warm_starter(tmp_path, monkeypatch):
    """Warm-started tasks are the starter's forks: ending the starter first used to orphan them
    (they trained on, writing checkpoints the next run resumes into)."""
    forks = {}

    @contextlib.contextmanager
    def starter_with_a_fork():
        # Like the warm starter: a child of the run whose own child is the task.
        starter = subprocess.Popen([sys.executable, "-c", (
            "import subprocess, sys, time; "
            "t = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']); "
            "print(t.pid, flush=True); time.sleep(120)")], stdout=subprocess.PIPE, text=True)
        forks["task"] = int(starter.stdout.readline())
        try:
            yield
        finally:
            starter.kill()  # what the starter's own clean-up does: it does not end its forks
            starter.wait()

    monkeypatch.setattr(warm_start, "warm_tasks", starter_with_a_fork)
    monkeypatch.setattr(registry, "get", lambda name: lambda: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt, match="Run the same command again to resume"):
        local.run_local("finetune", {}, tmp_path)
    time.sleep(0.2)
    assert not local._running(forks["task"])


def test_ctrl_c_exits_130_with_a_message_not_a_traceback(monkeypatch, capsys):
    from nlpfactory.pipelines import cli

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt("pipeline 'finetune' stopped")

    monkeypatch.setattr(local, "run_local", interrupted)
    previous = signal.getsignal(signal.SIGTERM)
    try:
        assert cli.main(["run", "finetune"]) == 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    err = capsys.readouterr().err
    assert "interrupted: pipeline 'finetune' stopped" in err and "Traceback" not in err


def test_kill_runs_the_clean_ups_and_exits_143(tmp_path, monkeypatch):
    """SIGTERM used to end the process at once, leaving `.partial` files behind."""
    import nlpfactory.data.prepare as prepare
    from nlpfactory.cli import main

    partial = tmp_path / "out.partial"

    def killed_midway(cfg, output_dir, overwrite=False):
        partial.write_text("half")
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
        finally:
            partial.unlink()

    monkeypatch.setattr(prepare, "prepare_dataset", killed_midway)
    previous = signal.getsignal(signal.SIGTERM)
    try:
        assert main(["data", "prepare", "--output", str(tmp_path / "out")]) == 143
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert not partial.exists()
