"""Training samples/s of the finetune stage in 1 and 2 processes (torchrun, gloo on CPU) at
the same global batch, with the dev accuracy each reaches.

    python bench/ddp_scaling.py [--rows 2000] [--model small] [--epochs 1] [--procs 1 2]

On a machine with 2 shared cores expect little: each process gets one core's share, and
gradients cross between processes every step. The numbers say what it is here; on GPUs or
many cores the same code path (NCCL on GPU) is where the speedup would come from.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from common import print_table, write_json  # noqa: E402


def run(procs: int, dataset: Path, out: Path, args) -> dict:
    from nlpfactory.finetune import FinetuneConfig, finetune

    cfg = FinetuneConfig(model=args.model, epochs=args.epochs, batch_size=32, learning_rate=5e-4,
                         max_length=64, nproc_per_node=procs, checkpoint_every_steps=0)
    started = time.perf_counter()
    result = finetune(cfg, dataset, out)
    wall = time.perf_counter() - started
    import torch

    threads = torch.get_num_threads() if procs == 1 else max(1, (os.cpu_count() or 1) // procs)
    return {"processes": procs, "threads_each": threads, "load_avg_1m": round(os.getloadavg()[0], 1), "samples_per_s": round(result.fit.samples_per_second, 1),
            "train_s": round(result.fit.train_seconds, 1), "wall_s": round(wall, 1), "steps": result.fit.steps,
            "dev_accuracy": round(result.dev_metrics.get("accuracy", float("nan")), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--model", default="small")
    parser.add_argument("--epochs", type=int, default=1)
    # Interleaved and repeated: on a shared machine the load drifts between runs.
    parser.add_argument("--procs", type=int, nargs="+", default=[1, 2, 2, 1])
    parser.add_argument("--threads", type=int, default=0,
                        help="torch threads of the 1-process runs (default: torch's own choice, all cores); "
                             "torchrun gives each of N processes cores/N")
    args = parser.parse_args()

    from helpers import write_tiny_dataset

    # Threads: the whole machine for one process, split evenly under torchrun.
    os.environ.pop("OMP_NUM_THREADS", None)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        dataset = write_tiny_dataset(Path(tmp) / "data", n=args.rows)
        rows = [run(p, dataset, Path(tmp) / f"model-{p}", args) for p in args.procs]
    single = [r["samples_per_s"] for r in rows if r["processes"] == 1]
    base = sum(single) / len(single) if single else rows[0]["samples_per_s"]
    for row in rows:
        row["speedup"] = round(row["samples_per_s"] / base, 2)  # vs the mean of the 1-process runs

    print(f"\nfinetune, {args.model}, {args.rows} rows, {args.epochs} epoch(s), global batch 32, "
          f"{os.cpu_count()} CPUs\n")
    print_table(rows, ["processes", "threads_each", "load_avg_1m", "samples_per_s", "speedup", "train_s", "wall_s", "steps", "dev_accuracy"])
    name = "ddp_scaling" + (f"_threads{args.threads}" if args.threads else "")
    path = write_json(name, {"settings": vars(args), "runs": rows})
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
