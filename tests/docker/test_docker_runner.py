"""The image, built and run: `finetune` in containers through kfp's DockerRunner writes the
same artifacts and MLflow runs, into the same store, as the subprocess run.

Needs a Docker engine (`make engine` starts one); skipped, saying so, where none answers.
The image build reuses its layers, so after the first build this costs the runs alone.
NLPFACTORY_TORCH_SOURCE says where the build takes torch from (default PyTorch's CPU index).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nlpfactory.image import engine_available

# The runs track to MLflow: a store already migrated (mlflow_store).
pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.usefixtures("mlflow_store")]

WHY_NOT = engine_available()
if WHY_NOT:
    pytestmark.append(pytest.mark.skip(reason=f"{WHY_NOT}; `make engine` starts one"))


@pytest.fixture(scope="module")
def image() -> str:
    from nlpfactory.components.image import IMAGE
    from nlpfactory.image import ImageBuild, build, host_ca_bundle

    build(ImageBuild(tag=IMAGE, torch_source=os.environ.get("NLPFACTORY_TORCH_SOURCE", "pytorch"),
                     ca_bundle=host_ca_bundle()), log=lambda _: None)
    return IMAGE


def image_uid(image: str) -> int:
    from nlpfactory.pipelines.docker_runner import image_uid

    return image_uid(image)


def run_finetune(runner: str, data: Path, out: Path, image: str):
    from nlpfactory.pipelines.local import parse_params, run_local

    arguments = parse_params("finetune", [f"data_source={data}", "model=tiny", "epochs=2", "max_length=32",
                                          "learning_rate=0.002", "register_name="])
    return run_local("finetune", arguments, out, runner=runner, image=image if runner == "docker" else "")


def outputs(run) -> dict[str, set[str]]:
    """task/output -> the files in it (names only)."""
    return {str(p.relative_to(p.parents[2])).split("/", 1)[1]:
            {f.name for f in p.rglob("*") if f.is_file()} if p.is_dir() else {p.name}
            for p in run.task_outputs()}


def tracked_pipeline_runs():
    """The finetune experiment's pipeline runs, oldest first: {task: child run} each."""
    from mlflow.tracking import MlflowClient

    from nlpfactory.tracking import TAG_PARENT, TAG_TASK, tracking_uri

    client = MlflowClient(tracking_uri())
    experiment = client.get_experiment_by_name("finetune").experiment_id
    runs = client.search_runs([experiment], order_by=["attributes.start_time ASC"])
    parents = [r.info.run_id for r in runs if r.data.tags.get(TAG_PARENT) == "true"]
    return client, [{r.data.tags[TAG_TASK]: r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent}
                    for parent in parents]


def test_finetune_in_containers_matches_the_subprocess_run(tmp_path, image):
    from helpers import sentiment_frame

    data = tmp_path / "data" / "reviews.tsv"
    data.parent.mkdir()
    sentiment_frame(120).to_csv(data, sep="\t", index=False)

    local = run_finetune("subprocess", data, tmp_path / "subprocess", image)
    boxed = run_finetune("docker", data, tmp_path / "docker", image)

    # The same artifacts, written by the image's own user: this user's uid when the image was
    # built by them (what `image build` does), the image's 1000 when this is root.
    assert outputs(boxed) == outputs(local)
    assert any(name.endswith("trained_model") for name in outputs(boxed))
    owners = {p.stat().st_uid for p in boxed.root.rglob("*")}
    assert owners == {image_uid(image)} == {os.getuid() or 1000}
    # ... and usable by this user as they are, with no chmod: readable, and replaceable.
    card = next(boxed.root.rglob("nlpfactory.json"))
    card.read_text()
    card.with_name("kept-by-the-host.txt").write_text("ok")

    # The same MLflow runs, in the same store, artifacts included.
    client, pipeline_runs = tracked_pipeline_runs()
    assert len(pipeline_runs) == 2
    local_runs, boxed_runs = pipeline_runs
    assert set(boxed_runs) == set(local_runs) >= {"prepare_data", "finetune", "evaluate model", "export"}
    for task, run in boxed_runs.items():
        assert run.info.status == "FINISHED", task
        assert set(run.data.metrics) == set(local_runs[task].data.metrics), task
    # One torch, one seed, one data set: the containerized model scores what the local one does.
    accuracy = [runs["evaluate model"].data.metrics["accuracy"] for runs in (local_runs, boxed_runs)]
    assert accuracy[0] == pytest.approx(accuracy[1], abs=0.02)
    artifacts = {a.path for a in client.list_artifacts(boxed_runs["evaluate model"].info.run_id)}
    assert "report.md" in artifacts
