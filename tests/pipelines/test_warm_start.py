"""Tasks of a local run start as forks of a warm starter: kfp's lightweight-component commands
are recognised (any other takes kfp's own path), a task runs with its own environment and
reports its real exit status, and a run leaves neither the starter nor its folder behind."""

import tempfile

import pytest
from kfp import dsl, local

from nlpfactory.pipelines.warm_start import NEEDS, PRELOAD, _component, _start_ready, _task_script, warm_tasks


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def who_runs_me(fail: bool) -> str:
    import os

    if fail:
        raise ValueError("the stage failed")
    with open(f"/proc/{os.getppid()}/cmdline") as parent:
        started_by = parent.read().replace("\0", " ").split()[-2]  # the module it runs
    return f"{started_by} {os.environ.get('NLPFACTORY_WARM_TEST', '')}"


@dsl.pipeline
def one_task(fail: bool = False) -> str:
    return who_runs_me(fail=fail).output


def kfp_command(component) -> list[str]:
    container = component.component_spec.implementation.container
    return [*container.command, *container.args]


def test_kfp_lightweight_commands_are_recognised_and_others_left_to_kfp():
    assert _task_script(kfp_command(who_runs_me)) is not None
    assert _task_script(["python3", "-m", "kfp.dsl.executor_main"]) is None  # not kfp's script
    assert _task_script(["sh", "-ec", "echo hi", "x"]) is None  # a container component's own command
    pip = kfp_command(who_runs_me)
    pip[2] = "python3 -m pip install foo && " + pip[2]
    assert _task_script(pip) is None  # a component that installs packages first


def test_a_task_waits_for_what_it_needs_of_the_preload_and_no_more():
    assert _component(kfp_command(who_runs_me)) == "who_runs_me"
    assert PRELOAD[:NEEDS["prepare_data"]][-1] == "mlflow.store.tracking.sqlalchemy_store"
    assert "torch" not in PRELOAD[:NEEDS["prepare_data"]]  # the first task does not wait for torch
    request = ("conn", [0, 1, 2], {"needs": 5})
    # Not forked while its needs are being imported: the fork would import them a second time.
    assert _start_ready([request], loaded=4, listener=None) == [request]


@pytest.fixture
def local_runs(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the starter's folder goes
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / "root"),
               raise_on_error=True)
    return tmp_path


@pytest.mark.slow
def test_a_task_is_a_fork_of_the_starter_with_its_environment_and_status(local_runs, monkeypatch):
    monkeypatch.setenv("NLPFACTORY_WARM_TEST", "seen")
    with warm_tasks():
        parent, env = one_task().output.split()
        with pytest.raises(RuntimeError, match="FAILURE.*who-runs-me"):
            one_task(fail=True)

    assert parent == "nlpfactory.pipelines.warm_start"  # a fork of the starter, not kfp's `sh` + python
    assert env == "seen"
    assert list(local_runs.glob("nlpfactory-starter-*")) == []


def test_turned_off_tasks_start_as_kfp_starts_them(local_runs, monkeypatch):
    monkeypatch.setenv("NLPFACTORY_WARM_START", "0")
    from kfp.local import subprocess_task_handler

    original = subprocess_task_handler.run_local_subprocess
    with warm_tasks():
        assert subprocess_task_handler.run_local_subprocess is original
