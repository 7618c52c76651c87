"""Why does token-level KD help the NER student so little? Variants of the `tiny` student on a
finished `bench/ner.py --work DIR` run: its teacher, Dataset and test sentences are reused, and
each variant is trained (distilled from that teacher, or alone) with a few options changed.
The run's teacher, student alone and distilled student are scored again beside them, so the
baselines are in the same table.

A variant is `kd` or `alone`, then `:` and comma-separated overrides of the student's options:
alpha, temperature, soft_loss, learning_rate (lr), epochs, student (auto: the zh-tiny backbone
moved to the teacher's token ids; tiny: the preset from random weights), student_init, and
transfer: that many more MSRA training sentences, none in the run's Dataset, distilled on
without their tags (the teacher's tags only). For example

    python bench/ner_kd.py --work DIR kd:alpha=0.9 kd:temperature=1 kd:lr=3e-3 alone:lr=3e-3
    python bench/ner_kd.py --work DIR kd:transfer=24000

Prints a table (test entity F1, share of the teacher's, dev F1 per epoch) and writes
bench/results/ner-kd.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from common import RESULTS, print_table, write_json
from ner import TYPES, dev_curve, find_backbone

from nlpfactory.data.dataset import load_split
from nlpfactory.distill.config import DistillConfig
from nlpfactory.distill.run import distill
from nlpfactory.finetune import FinetuneConfig, finetune
from nlpfactory.ner.metrics import entity_metrics
from nlpfactory.predictor import load_predictor

ALIASES = {"lr": "learning_rate", "t": "temperature"}
KD_ONLY = {"alpha", "temperature", "soft_loss", "student", "student_init", "transfer"}
WORDS = {"soft_loss", "student", "student_init"}


def parse(variant: str) -> tuple[str, dict]:
    kind, _, rest = variant.partition(":")
    if kind not in ("kd", "alone"):
        raise SystemExit(f"variant {variant!r}: start with kd: or alone:")
    overrides = {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        key = ALIASES.get(key.strip().lower(), key.strip())
        if kind == "alone" and key in KD_ONLY:
            raise SystemExit(f"variant {variant!r}: {key} is an option of distillation, not of the student alone")
        overrides[key] = value if key in WORDS else float(value)
    for key in ("epochs", "transfer"):
        if key in overrides:
            overrides[key] = int(overrides[key])
    return kind, overrides


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variants", nargs="+")
    parser.add_argument("--work", required=True, help="the --work folder of a finished bench/ner.py run")
    parser.add_argument("--results", default="ner-quick.json", help="that run's JSON under bench/results")
    parser.add_argument("--name", default="ner-kd", help="the JSON written under bench/results")
    args = parser.parse_args()
    folder = Path(args.work)
    summary = json.loads((RESULTS / args.results).read_text())["summary"]
    settings = summary["settings"]
    test = load_split(folder / "msra", "test")
    texts, gold = test["text"].tolist(), [list(t) for t in test["tags"]]
    base = dict(epochs=settings["student_epochs"], batch_size=32, max_length=settings["max_length"], seed=42,
                checkpoint_every_steps=0, early_stopping_patience=0, learning_rate=summary["student_lr"])
    kd = summary.get("kd", {"temperature": 2.0, "alpha": 0.5})

    def test_f1(model_dir: Path) -> dict:
        m = entity_metrics(gold, load_predictor(model_dir, device="cpu").predict_tags(texts), TYPES)
        return {"entity_f1": round(m["f1"], 4)} | {f"f1_{k}": round(m["per_type"][k]["f1"], 4) for k in TYPES}

    rows = [{"variant": f"run's {name}", **test_f1(folder / name)} for name in ("teacher", "student-alone", "student-kd")]
    for variant in args.variants:
        kind, overrides = parse(variant)
        out = folder / "variants" / variant.replace(":", "_").replace(",", "_").replace("=", "")
        curve_file = out.with_name(out.name + "-dev-curve.json")
        started = time.time()
        if not (out / "nlpfactory.json").is_file():
            options = base | overrides
            if kind == "kd":
                transfer = options.pop("transfer", 0)
                if transfer:  # MSRA training sentences outside the run's Dataset (DistillConfig leaves those out)
                    options |= {"transfer_source": "msra-ner", "transfer_rows": transfer}
                result = distill(DistillConfig(**({"student": "auto"} | kd | options)), folder / "msra",
                                 str(folder / "teacher"), out)
            else:
                result = finetune(FinetuneConfig(model=find_backbone("auto", "zh-tiny", "tiny")[0], **options),
                                  folder / "msra", out)
            curve_file.write_text(json.dumps(dev_curve(result)))
        curve = json.loads(curve_file.read_text()) if curve_file.is_file() else []
        rows.append({"variant": variant, **test_f1(out), "dev_f1_per_epoch": [c["dev_entity_f1"] for c in curve],
                     "seconds": round(time.time() - started, 1)})
    teacher_f1 = rows[0]["entity_f1"]
    for row in rows:
        row["of_teacher"] = round(row["entity_f1"] / teacher_f1, 4) if teacher_f1 else None
    print_table(rows, ["variant", "entity_f1", "of_teacher", "f1_PER", "f1_LOC", "f1_ORG", "dev_f1_per_epoch", "seconds"])
    print({"base": base, "kd": kd})
    print("written:", write_json(args.name, {"rows": rows, "base": base, "kd": kd, "run": args.results,
                                              "work": folder.name}))


if __name__ == "__main__":
    main()
