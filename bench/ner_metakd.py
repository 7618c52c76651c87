"""Per-domain MetaKD for NER against vanilla token KD, across two domains: MSRA (msra-ner)
and People's Daily 1998 (pd98-ner), both PER/LOC/ORG.

One Dataset holds both corpora with a domain column (each corpus sampled, split train/dev/
test by itself: MSRA's test split from its own test file). Then, from the same backbone
(the cached zh-small, else the small preset) and for the same passes:

- a teacher fine-tuned on both domains, and the `tiny` student of each domain distilled from
  it with vanilla token KD on that domain's sentences (distill method=vanilla, domain=D);
- the MetaKD meta-teacher on both domains, and the student of each domain distilled from it
  (distill method=metakd, domain=D; its two stages together take the vanilla student's passes,
  split as --stage1-epochs says: "2,0" trains a 2+2 and a 0+4 student when the passes are 4).

Entity F1 of every model, and of a dictionary baseline, on each domain's test sentences.
Prints a table and writes bench/results/ner-metakd.json (ner-metakd-quick.json with --quick).

    python bench/ner_metakd.py --quick
    python bench/ner_metakd.py --quick --work DIR --reuse --stage1-epochs 2,0   # add the 0+4 students
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd
from common import print_table, write_json
from ner import TYPES, Dictionary, find_backbone

from nlpfactory.data.dataset import DatasetInfo, load_split, read_info, write_dataset
from nlpfactory.data.prepare import PrepareConfig, prepare_dataset
from nlpfactory.distill.config import DistillConfig, MetaTeacherConfig
from nlpfactory.distill.meta_teacher import train_meta_teacher
from nlpfactory.distill.run import distill
from nlpfactory.finetune import FinetuneConfig, finetune
from nlpfactory.ner.metrics import entity_metrics
from nlpfactory.predictor import load_predictor

DOMAINS = {"msra": "msra-ner", "pd98": "pd98-ner"}


def two_domains(folder: Path, args) -> Path:
    """One Dataset: each corpus's train/dev/test sentences with its domain."""
    splits: dict[str, list[pd.DataFrame]] = {"train": [], "dev": [], "test": []}
    labels = None
    for domain, corpus in DOMAINS.items():
        one = folder / f"{domain}-full"
        total = args.train_rows + args.dev_rows + args.test_rows
        # MSRA brings its own test file; pd98 has none, so its test sentences are split off.
        own_test = corpus == "msra-ner"
        prepare_dataset(PrepareConfig(data_source=corpus, max_rows=total - (args.test_rows if own_test else 0),
                                      dev_ratio=args.dev_rows / (total - (args.test_rows if own_test else 0)),
                                      test_ratio=0.0 if own_test else args.test_rows / total, seed=args.seed), one)
        info = read_info(one)
        if labels is not None and list(info.labels) != labels:
            raise SystemExit(f"{corpus} has the tags {info.labels}, the other corpus {labels}")
        labels = list(info.labels)
        for split in splits:
            frame = load_split(one, split)
            if split == "test":
                frame = frame.sample(n=min(args.test_rows, len(frame)), random_state=args.seed).sort_index()
            splits[split].append(frame[["text", "tags"]].assign(domain=domain))
    out = folder / "two-domains"
    write_dataset(out, {k: pd.concat(v, ignore_index=True) for k, v in splits.items()},
                  DatasetInfo(task="sequence_labeling", labels=labels, domains=list(DOMAINS),
                              source={"corpora": DOMAINS, "made_in": "bench/ner_metakd.py"},
                              schema="text:str:1,tags:str:1", text_columns=["text"]))
    return out


def per_domain_f1(predict_tags, test: pd.DataFrame) -> dict:
    out = {}
    for domain in DOMAINS:
        part = test[test["domain"] == domain]
        m = entity_metrics([list(t) for t in part["tags"]], predict_tags(part["text"].tolist()), TYPES)
        out[f"f1_{domain}"] = round(m["f1"], 4)
    return out


def dictionary_row(dataset: Path, test: pd.DataFrame) -> dict:
    """The cheap baseline: both domains' training entities, longest match (as bench/ner.py)."""
    train = load_split(dataset, "train")
    dictionary = Dictionary(train["text"], train["tags"])
    return {"model": "dictionary (both domains' training entities, longest match)",
            **per_domain_f1(lambda texts: [dictionary.tag(t) for t in texts], test), "seconds": 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    for name in ("train_rows", "dev_rows", "test_rows", "epochs", "student_epochs", "max_length"):
        parser.add_argument("--" + name.replace("_", "-"), type=int, help="per domain for rows; overrides --quick")
    parser.add_argument("--teacher-lr", type=float, default=5e-4)
    parser.add_argument("--student-lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--stage1-epochs", default="", help="MetaKD stage-1 passes, comma-separated (default: half)")
    parser.add_argument("--work", default="")
    parser.add_argument("--reuse", action="store_true", help="keep the Dataset and the models a run of the same --work left")
    args = parser.parse_args()
    settings = dict(train_rows=1500, dev_rows=200, test_rows=500, epochs=3, student_epochs=4, max_length=64) \
        if args.quick else dict(train_rows=10000, dev_rows=1000, test_rows=2000, epochs=4, student_epochs=6,
                                max_length=128)
    for k, v in settings.items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    if args.student_epochs < 2:
        raise SystemExit("--student-epochs: at least 2 (MetaKD's two stages share them)")
    folder = Path(args.work or tempfile.mkdtemp(prefix="bench-ner-metakd-"))
    backbone, chosen = find_backbone("auto", "zh-small", "small")
    reuse = args.reuse and (folder / "two-domains" / "dataset.json").is_file()
    dataset = folder / "two-domains" if reuse else two_domains(folder, args)
    test = load_split(dataset, "test")
    train = dict(batch_size=32, max_length=args.max_length, seed=args.seed, checkpoint_every_steps=0,
                 early_stopping_patience=0)
    stage1s = [int(x) for x in args.stage1_epochs.split(",")] if args.stage1_epochs else [args.student_epochs // 2]
    if not all(0 <= n < args.student_epochs for n in stage1s):
        raise SystemExit(f"--stage1-epochs: each below --student-epochs ({args.student_epochs}), so stage 2 has a pass")
    seconds, rows = {}, [dictionary_row(dataset, test)]

    def timed(name, make):
        started = time.time()
        if args.reuse and (folder / name / "nlpfactory.json").is_file():
            seconds[name] = "reused"
        else:
            make(folder / name)
            seconds[name] = round(time.time() - started, 1)
        predictor = load_predictor(folder / name, device="cpu")
        rows.append({"model": name, **per_domain_f1(predictor.predict_tags, test), "seconds": seconds[name]})

    timed("teacher (both domains)", lambda out: finetune(
        FinetuneConfig(model=backbone, epochs=args.epochs, learning_rate=args.teacher_lr, **train), dataset, out))
    timed("meta-teacher (both domains)", lambda out: train_meta_teacher(
        MetaTeacherConfig(model=backbone, epochs=args.epochs, learning_rate=args.teacher_lr, **train), dataset, out))
    for domain in DOMAINS:
        timed(f"vanilla KD student, {domain}", lambda out, d=domain: distill(
            DistillConfig(student="auto", domain=d, epochs=args.student_epochs, learning_rate=args.student_lr, **train),
            dataset, str(folder / "teacher (both domains)"), out))
        for stage1 in stage1s:
            timed(f"MetaKD student ({stage1}+{args.student_epochs - stage1} passes), {domain}",
                  lambda out, d=domain, n=stage1: distill(
                      DistillConfig(method="metakd", student="auto", domain=d, stage1_epochs=n,
                                    stage2_epochs=args.student_epochs - n, stage1_learning_rate=args.student_lr,
                                    stage2_learning_rate=args.student_lr, **train),
                      dataset, str(folder / "meta-teacher (both domains)"), out))
    shown = []  # a per-domain student answers for its own domain only: its other score in brackets
    for row in rows:
        own = row["model"].rsplit(", ", 1)[1] if "student" in row["model"] else None
        shown.append(row | {f"f1_{d}": f"({row[f'f1_{d}']})" for d in DOMAINS if own and d != own})
    summary = {"backbone": Path(backbone).name, "backbone_chosen": chosen,
               "settings": {k: getattr(args, k) for k in settings} | {"quick": args.quick, "stage1_epochs": stage1s,
                                                                       "teacher_lr": args.teacher_lr,
                                                                       "student_lr": args.student_lr},
               "train_rows": {d: int((load_split(dataset, "train")["domain"] == d).sum()) for d in DOMAINS},
               "test_rows": {d: int((test["domain"] == d).sum()) for d in DOMAINS}}
    print_table(shown, ["model", *(f"f1_{d}" for d in DOMAINS), "seconds"])
    print("(in brackets: a per-domain student scored on the other domain, which it was not trained for)")
    print(summary)
    print("written:", write_json("ner-metakd" + ("-quick" if args.quick else ""), {"rows": rows, "summary": summary}))


if __name__ == "__main__":
    main()
