"""What running a pipeline costs beyond its stages' own work.

Runs the `finetune` pipeline with the subprocess runner and (where a Docker engine answers
and the image is built) the docker runner, on the same data and settings, and compares each
wall time with the sum of its stages' compute (the MLflow child runs' durations: a stage's
run opens before it loads anything and closes after it wrote its outputs). The rest is the
pipeline's overhead: per task a Python start with kfp's executor and nlpfactory imported,
and for docker a container start and an MLflow server on loopback. Those parts are timed on
their own too, so a missed target says where the time goes.

    python bench/pipeline_overhead.py [--rows 2000] [--model tiny] [--epochs 2] [--runners subprocess docker]

Target: overhead <= 15% of stage compute on the demo settings.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from common import print_table, write_json  # noqa: E402

TARGET = 0.15


def stage_seconds(parent_started_after_ms: int) -> dict[str, float]:
    """task -> seconds of the child runs of the newest pipeline run."""
    from mlflow.tracking import MlflowClient

    from nlpfactory.tracking import TAG_PARENT, TAG_TASK, tracking_uri

    client = MlflowClient(tracking_uri())
    experiment = client.get_experiment_by_name("finetune").experiment_id
    runs = client.search_runs([experiment], f"attributes.start_time >= {parent_started_after_ms}")
    parents = [r for r in runs if r.data.tags.get(TAG_PARENT) == "true"]
    parent = max(parents, key=lambda r: r.info.start_time).info.run_id
    return {r.data.tags[TAG_TASK]: (r.info.end_time - r.info.start_time) / 1000 for r in runs
            if r.data.tags.get("mlflow.parentRunId") == parent}


def run_pipeline(runner: str, data: Path, out: Path, args) -> dict:
    from nlpfactory.pipelines.local import parse_params, run_local

    arguments = parse_params("finetune", [f"data_source={data}", f"model={args.model}", f"epochs={args.epochs}",
                                          "max_length=64", "register_name="])
    started_ms = int(time.time() * 1000)
    started = time.perf_counter()
    run_local("finetune", arguments, out, runner=runner)
    wall = time.perf_counter() - started
    stages = stage_seconds(started_ms)
    compute = sum(stages.values())
    return {"runner": runner, "wall_s": round(wall, 1), "stage_compute_s": round(compute, 1),
            "overhead_s": round(wall - compute, 1), "overhead_pct": round(100 * (wall - compute) / compute, 1),
            "tasks": len(stages), "stages": {k: round(v, 1) for k, v in stages.items()}}


def timed(command: list[str], repeat: int = 3) -> float:
    """Median seconds of a command."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return round(sorted(times)[len(times) // 2], 2)


def parts(runners: list[str]) -> dict[str, float]:
    """The fixed costs a task pays before its stage starts, measured alone."""
    out = {"python + kfp executor + stage imports (per task)":
           timed([sys.executable, "-c", "import kfp.dsl.executor_main, nlpfactory.finetune, nlpfactory.tracking"])}
    if "docker" in runners:
        from nlpfactory.components.image import IMAGE

        out["container start + exit (per task)"] = timed(["docker", "run", "--rm", "--network", "host", IMAGE, "true"])
        out["mlflow server start (per run)"] = mlflow_server_start()
    return out


def mlflow_server_start() -> float:
    from nlpfactory.pipelines.docker_runner import tracking_server

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        with tracking_server(f"sqlite:///{tmp}/mlflow.db"):
            return round(time.perf_counter() - started, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--runners", nargs="+", default=["subprocess", "docker"], choices=["subprocess", "docker"])
    args = parser.parse_args()

    from helpers import sentiment_frame

    from nlpfactory.image import engine_available

    runners = list(args.runners)
    if "docker" in runners and engine_available():
        print(f"docker runner skipped: {engine_available()}")
        runners.remove("docker")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "reviews.tsv"
        sentiment_frame(args.rows).to_csv(data, sep="\t", index=False)
        rows = [run_pipeline(r, data, Path(tmp) / r, args) for r in runners]
    fixed = parts(runners)

    print(f"\nfinetune pipeline, {args.rows} rows, {args.model}, {args.epochs} epochs "
          f"(target: overhead <= {TARGET:.0%} of stage compute)\n")
    print_table(rows, ["runner", "wall_s", "stage_compute_s", "overhead_s", "overhead_pct", "tasks"])
    print("\nper task (stage compute, s):")
    print_table([{"runner": r["runner"], **r["stages"]} for r in rows], ["runner", *rows[0]["stages"]])
    print("\nfixed costs measured alone (s):")
    print_table([{"part": k, "seconds": v} for k, v in fixed.items()], ["part", "seconds"])
    path = write_json("pipeline_overhead", {"settings": vars(args), "target_overhead": TARGET,
                                            "runs": rows, "fixed_costs_s": fixed})
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
