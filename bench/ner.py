"""NER on MSRA (the msra-ner corpus; its own test file is the test split): a teacher, a
`tiny` student trained alone, and the same student distilled from the teacher (token-level
KD, by default T = 2, alpha = 0.5: DistillConfig's), beside a dictionary baseline (every
entity string of the training split, longest match first, its most frequent type). Reports
entity F1 overall and per type, parameters, CPU sentences/s eager (PyTorch) and int8 ONNX
(batch 32), and each model's dev entity F1 after every epoch (was it still improving?);
prints the tables and writes bench/results/ner.json. The students get the teacher's passes
unless --student-epochs says otherwise. With --transfer-rows N a second distilled student also
learns the teacher's tags on N more MSRA training sentences outside the Dataset (their tags
are never read): on the tagged sentences alone the soft labels add little to the gold tags.
Targets (issue 13): the distilled student keeps >= 95% of the teacher's F1 and beats the
student alone.

The teacher is the cached `zh-small` backbone when one is found under the cache's models/
folder (or --teacher names a model), else the `small` preset trained from scratch; the
students start from the cached `zh-tiny` backbone (the distilled one with its embeddings
moved to the teacher's token ids), else the `tiny` preset; the output says which. Timing runs on whatever the machine has free, so it is noisy on a shared
machine; the ratio between rows of one run is the useful part.

    python bench/ner.py --quick      # small honest settings for a 2-core machine
    python bench/ner.py --quick --work DIR --reuse --transfer-rows 12000   # add the transfer student
    python bench/ner.py              # the whole training file, more epochs (hours on CPU)
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
from common import print_table, write_json

from nlpfactory.data.datahub import cache_dir
from nlpfactory.data.dataset import load_split, read_info, write_dataset
from nlpfactory.data.prepare import PrepareConfig, prepare_dataset
from nlpfactory.distill.config import DistillConfig
from nlpfactory.distill.run import distill
from nlpfactory.finetune import FinetuneConfig, finetune
from nlpfactory.models.card import read_card
from nlpfactory.ner.metrics import entity_metrics
from nlpfactory.ner.tags import from_spans, to_spans

TYPES = ["LOC", "ORG", "PER"]


def find_backbone(wanted: str, backbone: str, preset: str) -> tuple[str, str]:
    """(model, how it was chosen)."""
    if wanted != "auto":
        return wanted, "given"
    for root in {cache_dir() / "models", Path.home() / ".cache" / "nlpfactory" / "models"}:
        found = sorted(root.glob(f"{backbone}-*/config.json"), key=lambda p: p.stat().st_mtime)
        if found:
            return str(found[-1].parent), f"cached {backbone} backbone"
    return preset, f"{preset} preset from scratch (no {backbone} backbone cached)"


class Dictionary:
    """Longest match against the training split's entity strings (ties: the most frequent type)."""

    def __init__(self, texts, tags):
        seen: dict[str, Counter] = {}
        for text, t in zip(texts, tags):
            for a, b, kind in to_spans(list(t)):
                seen.setdefault(text[a:b], Counter())[kind] += 1
        self.types = {word: c.most_common(1)[0][0] for word, c in seen.items()}
        self.longest = max(map(len, self.types), default=0)

    def tag(self, text: str) -> list[str]:
        spans, i = [], 0
        while i < len(text):
            for n in range(min(self.longest, len(text) - i), 0, -1):
                if text[i:i + n] in self.types:
                    spans.append((i, i + n, self.types[text[i:i + n]]))
                    i += n
                    break
            else:
                i += 1
        return from_spans(spans, len(text))


def speed(predict, texts, repeats: int = 1) -> float:
    predict(texts[:32])  # warm up
    started = time.perf_counter()
    for _ in range(repeats):
        predict(texts)
    return repeats * len(texts) / (time.perf_counter() - started)


def score(name, predicted, gold, parameters=None, eager=None, int8=None, note="") -> dict:
    m = entity_metrics(gold, predicted, TYPES)
    row = {"model": name, "entity_f1": round(m["f1"], 4), "precision": round(m["precision"], 4),
           "recall": round(m["recall"], 4), "token_acc": round(m["token_accuracy"], 4)}
    row |= {f"f1_{k}": round(m["per_type"][k]["f1"], 4) for k in TYPES}
    row |= {"parameters": parameters or "", "eager_sent_s": round(eager, 1) if eager else "",
            "int8_onnx_sent_s": round(int8, 1) if int8 else "", "note": note}
    return row


def dev_curve(result) -> list[dict]:
    """Dev entity F1 after each epoch, from a finetune or (vanilla) distill result: whether a
    model was still improving when its passes ran out."""
    fit = result.fit if hasattr(result, "fit") else result.training["vanilla"]
    return [{"epoch": h["epoch"], "dev_entity_f1": round(h["entity_f1"], 4)}
            for h in fit.history if "entity_f1" in h]


def data(folder: Path, args) -> Path:
    full = folder / "msra-full"
    prepare_dataset(PrepareConfig(data_source="msra-ner", max_rows=args.train_rows + args.dev_rows,
                                  dev_ratio=args.dev_rows / (args.train_rows + args.dev_rows), test_ratio=0.0,
                                  seed=args.seed), full)
    info = read_info(full)
    test = load_split(full, "test")
    keep = np.sort(np.random.default_rng(args.seed).permutation(len(test))[:args.test_rows])
    out = folder / "msra"
    write_dataset(out, {"train": load_split(full, "train"), "dev": load_split(full, "dev"),
                        "test": test.iloc[keep].reset_index(drop=True)}, info)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--teacher", default="auto")
    parser.add_argument("--student", default="auto", help="the student alone; the distilled one is distill's student=auto")
    for name in ("train_rows", "dev_rows", "test_rows", "epochs", "max_length"):
        parser.add_argument("--" + name.replace("_", "-"), type=int, help="overrides the --quick or full setting")
    parser.add_argument("--teacher-lr", type=float, help="default 1e-3 from scratch, 5e-4 from a cached backbone")
    parser.add_argument("--student-lr", type=float, default=1e-3)
    parser.add_argument("--student-epochs", type=int, help="the students' passes (default: --epochs, the teacher's)")
    parser.add_argument("--temperature", type=float, default=DistillConfig.temperature)
    parser.add_argument("--alpha", type=float, default=DistillConfig.alpha, help="share of the soft-label loss")
    parser.add_argument("--transfer-rows", type=int, default=0,
                        help="also distill a student on this many MSRA training sentences outside the Dataset, "
                             "without their tags (distill's transfer_source)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--work", default="")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the Dataset and the models a stopped run of the same --work left (each is written whole or not at all)")
    args = parser.parse_args()
    settings = dict(train_rows=600, dev_rows=100, test_rows=300, epochs=3, max_length=64) if args.quick else \
        dict(train_rows=45000, dev_rows=2000, test_rows=4989, epochs=5, max_length=128)
    for k, v in settings.items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    teacher_model, teacher_how = find_backbone(args.teacher, "zh-small", "small")
    student_model, student_how = find_backbone(args.student, "zh-tiny", "tiny")
    folder = Path(args.work or tempfile.mkdtemp(prefix="bench-ner-"))

    def done(name: str) -> bool:
        return args.reuse and (folder / name / "nlpfactory.json").is_file()

    dataset = folder / "msra" if args.reuse and (folder / "msra" / "dataset.json").is_file() else data(folder, args)
    train, test = load_split(dataset, "train"), load_split(dataset, "test")
    texts, gold = test["text"].tolist(), [list(t) for t in test["tags"]]
    common = dict(epochs=args.epochs, batch_size=32, max_length=args.max_length, seed=args.seed,
                  checkpoint_every_steps=0, early_stopping_patience=0)
    # The cached backbones are lightly pretrained (zh-small: MLM accuracy 4.5% after an hour on
    # a CPU), so they take rates nearer to from-scratch ones than BERT's 2e-5..5e-5.
    teacher_lr = args.teacher_lr or (1e-3 if teacher_model in ("tiny", "small", "base") else 5e-4)
    students = common | {"epochs": args.student_epochs or args.epochs}
    seconds, curves = {}, {}
    for name, train_it in (
        ("teacher", lambda out: finetune(FinetuneConfig(model=teacher_model, learning_rate=teacher_lr, **common),
                                         dataset, out)),
        ("student-alone", lambda out: finetune(FinetuneConfig(model=student_model, learning_rate=args.student_lr,
                                                              **students), dataset, out)),
        ("student-kd", lambda out: distill(DistillConfig(student="auto", learning_rate=args.student_lr,
                                                         temperature=args.temperature, alpha=args.alpha, **students),
                                           dataset, str(folder / "teacher"), out)),
        *([("student-kd-transfer", lambda out: distill(DistillConfig(
            student="auto", learning_rate=args.student_lr, temperature=args.temperature, alpha=args.alpha,
            transfer_source="msra-ner", transfer_rows=args.transfer_rows, **students),
            dataset, str(folder / "teacher"), out))] if args.transfer_rows else [])):
        t0 = time.time()
        curve_file = folder / f"{name}-dev-curve.json"
        if done(name):
            seconds[name] = "reused"
            curves[name] = json.loads(curve_file.read_text()) if curve_file.is_file() else []
            continue
        curves[name] = dev_curve(train_it(folder / name))
        curve_file.write_text(json.dumps(curves[name]))
        seconds[name] = round(time.time() - t0, 1)

    from nlpfactory.predictor import load_predictor
    from nlpfactory.serving.export import ExportConfig, export
    from nlpfactory.serving.onnx_predictor import open_predictor

    rows = []
    dictionary = Dictionary(train["text"], train["tags"])
    rows.append(score("dictionary (train entities, longest match)", [dictionary.tag(t) for t in texts], gold,
                      eager=speed(lambda batch: [dictionary.tag(t) for t in batch], texts)))
    for name, note in (("teacher", teacher_how), ("student-alone", f"{student_how}, true tags only"),
                       ("student-kd", "token-level KD from the teacher"),
                       *([("student-kd-transfer", f"KD, + {args.transfer_rows} sentences without tags")]
                         if args.transfer_rows else [])):
        model_dir = folder / name
        eager = load_predictor(model_dir, device="cpu")
        predicted = eager.predict_tags(texts)
        export(ExportConfig(), model_dir, folder / f"{name}-export")
        int8 = open_predictor(folder / f"{name}-export", device="cpu", precision="int8", batch_size=32)
        rows.append(score(name, predicted, gold, read_card(model_dir)["parameters"],
                          speed(eager.predict_tags, texts), speed(int8.predict_tags, texts),
                          f"{note}; base {Path(str(read_card(model_dir).get('base_model'))).name}"))
    by = {r["model"]: r for r in rows}
    teacher_f1 = by["teacher"]["entity_f1"]
    distilled = [n for n in ("student-kd", "student-kd-transfer") if n in by]
    summary = {**{f"{n}_keeps_of_teacher_f1": round(by[n]["entity_f1"] / teacher_f1, 4) if teacher_f1 else None
                  for n in distilled},
               **{f"{n}_beats_student_alone": by[n]["entity_f1"] > by["student-alone"]["entity_f1"] for n in distilled},
               "transfer_rows": args.transfer_rows,
               "teacher": Path(teacher_model).name, "teacher_chosen": teacher_how, "teacher_lr": teacher_lr,
               "student": Path(student_model).name, "student_lr": args.student_lr,
               "kd": {"temperature": args.temperature, "alpha": args.alpha}, "train_seconds": seconds,
               "settings": {k: getattr(args, k) for k in settings} | {"quick": args.quick,
                                                                       "student_epochs": students["epochs"]},
               "threads": os.environ.get("OMP_NUM_THREADS", "default")}
    print_table(rows, ["model", "entity_f1", "precision", "recall", "f1_PER", "f1_LOC", "f1_ORG", "token_acc",
                       "parameters", "eager_sent_s", "int8_onnx_sent_s"])
    epochs = max((len(c) for c in curves.values()), default=0)
    print("\ndev entity F1 after each epoch (the best epoch's weights are kept)")
    print_table([{"model": name} | {f"epoch {e['epoch']}": e["dev_entity_f1"] for e in curve} for name, curve in curves.items()],
                ["model"] + [f"epoch {e}" for e in range(1, epochs + 1)])
    print({k: v for k, v in summary.items() if k != "settings"}, summary["settings"])
    print("written:", write_json("ner" + ("-quick" if args.quick else ""),
                                 {"rows": rows, "dev_curves": curves, "summary": summary}))


if __name__ == "__main__":
    main()
