"""What a tracking outage costs a stage: the same tiny finetune stage with MLflow on a local
SQLite store (the baseline), with nothing listening on the server's port (connection refused),
with a server that never answers (a black-hole address: every connect waits for its timeout),
and with tracking off. The stage must finish every time; the outage rows should cost seconds.

    python bench/tracking_outage.py            # prints a table, writes bench/results/tracking_outage.json
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from common import print_table, write_json  # noqa: E402
from helpers import write_tiny_dataset  # noqa: E402

from nlpfactory import stages  # noqa: E402
from nlpfactory.tracking import NO_TRACKING, MlflowTracker  # noqa: E402

BLACK_HOLE = "http://10.255.255.1:5000"  # non-routable: a connect attempt hangs until its timeout


def _refused_uri() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def run_once(label: str, tracker, data: Path, out: Path, epochs: int) -> dict:
    cfg = stages.get("finetune").Config(model="tiny", vocab_size=300, epochs=epochs, batch_size=16,
                                        max_length=32, checkpoint_every_steps=0)
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = stages.execute("finetune", cfg, {"dataset": str(data)}, {"trained_model": str(out)}, tracker)
    seconds = time.perf_counter() - started
    warned = sum("MLflow tracking off" in str(w.message) for w in caught)
    return {"tracking": label, "seconds": round(seconds, 1), "warnings": warned,
            "dev_accuracy": round(result.metrics["dev_accuracy"], 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tracking-outage-"))
    data = write_tiny_dataset(work / "data", n=200)
    trackers = {
        "sqlite (baseline)": MlflowTracker(f"sqlite:///{work / 'mlflow.db'}"),
        "server refused": MlflowTracker(_refused_uri()),
        "server silent": MlflowTracker(BLACK_HOLE),
        "off": NO_TRACKING,
    }
    # Warm up, untimed: the first stage pays for importing torch and transformers, and a new
    # SQLite store for creating its tables; neither is what this measures.
    run_once("warm-up", NO_TRACKING, data, work / "warm-up", 1)
    with trackers["sqlite (baseline)"].stage_run("warm-up"):
        pass
    rows = [run_once(label, tracker, data, work / f"model-{i}", args.epochs)
            for i, (label, tracker) in enumerate(trackers.items())]
    base = rows[0]["seconds"]
    for row in rows:
        row["vs baseline"] = f"{row['seconds'] / base:.2f}x"
    print_table(rows, ["tracking", "seconds", "vs baseline", "warnings", "dev_accuracy"])
    print(f"written: {write_json('tracking_outage', {'epochs': args.epochs, 'rows': rows})}")


if __name__ == "__main__":
    main()
