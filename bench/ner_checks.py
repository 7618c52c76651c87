"""Two checks on a finished `bench/ner.py --work DIR` run, on the same MSRA test sentences:

- windowing: the teacher's entity F1 when sentences are cut into overlapping windows (a
  shorter max_length at prediction) against one window per sentence (the trained length);
- the tag-prior head start: the student alone trained again with its tagging head's bias at
  0 (a uniform start) instead of the log tag prior, beside the run's own student alone.

Prints a table and writes bench/results/ner-checks.json.

    python bench/ner_checks.py --work DIR            # DIR: the --work folder of bench/ner.py
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from common import RESULTS, print_table, write_json
from ner import find_backbone

from nlpfactory.data.dataset import load_split
from nlpfactory.finetune import FinetuneConfig, finetune
from nlpfactory.ner import align
from nlpfactory.ner import train as ner_train
from nlpfactory.ner.inference import WINDOW_STRIDE, char_scores, decode
from nlpfactory.ner.metrics import entity_metrics
from nlpfactory.predictor import load_predictor

TYPES = ["LOC", "ORG", "PER"]


def windowed_f1(model_dir: Path, texts, gold, max_length: int) -> dict:
    from nlpfactory.models.load import load_model

    model, tokenizer, _ = load_model(str(model_dir), "token_classification")
    tags = list(model.config.id2label[i] for i in range(model.config.num_labels))
    _, windows = align.encode(tokenizer, texts, max_length, WINDOW_STRIDE)
    cut = len(texts) - sum(1 for w in windows if w.first_word == 0 and w.end_word == len(align.char_words(texts[w.sentence])))
    predicted = decode(texts, char_scores(ner_train.torch_runner(model), tokenizer, texts, len(tags), max_length), tags)
    m = entity_metrics(gold, predicted, TYPES)
    return {"check": f"teacher, max_length {max_length}", "entity_f1": round(m["f1"], 4),
            "sentences_in_windows": cut, "windows": len(windows)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", required=True, help="the --work folder of a finished bench/ner.py run")
    parser.add_argument("--lengths", default="32,64", help="shorter prediction lengths to compare")
    parser.add_argument("--results", default="ner-quick.json", help="that run's JSON under bench/results")
    parser.add_argument("--skip-prior", action="store_true")
    args = parser.parse_args()
    folder = Path(args.work)
    run = json.loads((RESULTS / args.results).read_text())
    settings, summary = run["summary"]["settings"], run["summary"]
    test = load_split(folder / "msra", "test")
    texts, gold = test["text"].tolist(), [list(t) for t in test["tags"]]
    rows = [windowed_f1(folder / "teacher", texts, gold, n)
            for n in dict.fromkeys([settings["max_length"], *map(int, args.lengths.split(","))])]
    if not args.skip_prior:
        started = time.time()
        original = ner_train.start_from_tag_prior
        ner_train.start_from_tag_prior = lambda *a, **k: None  # the head keeps its 0 bias: a uniform start
        try:
            alone = finetune(FinetuneConfig(model=find_backbone("auto", "zh-tiny", "tiny")[0], learning_rate=summary["student_lr"],
                                            epochs=settings.get("student_epochs", settings["epochs"]), batch_size=32, max_length=settings["max_length"],
                                            seed=42, checkpoint_every_steps=0, early_stopping_patience=0),
                             folder / "msra", folder / "student-alone-no-prior")
        finally:
            ner_train.start_from_tag_prior = original
        predicted = load_predictor(folder / "student-alone-no-prior", device="cpu").predict_tags(texts)
        m = entity_metrics(gold, predicted, TYPES)
        with_prior = next(r for r in run["rows"] if r["model"] == "student-alone")["entity_f1"]
        rows.append({"check": "student alone, tag-prior head start (the run's)", "entity_f1": with_prior})
        rows.append({"check": "student alone, uniform head start", "entity_f1": round(m["f1"], 4),
                     "dev_f1": round(alone.dev_metrics["entity_f1"], 4), "seconds": round(time.time() - started, 1)})
    print_table(rows, ["check", "entity_f1", "sentences_in_windows", "windows"])
    print("written:", write_json("ner-checks", {"rows": rows, "settings": settings, "work": folder.name}))


if __name__ == "__main__":
    main()
