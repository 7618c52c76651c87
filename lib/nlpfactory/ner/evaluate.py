"""Score a tagger on a sequence-labeling Dataset split: entity precision/recall/F1 overall and
per type, token accuracy, the most frequent confusions, and a tag-by-tag confusion matrix
(for the KFP ClassificationMetrics chart), in the evaluate stage's Evaluation shape."""

from __future__ import annotations

import numpy as np

from nlpfactory.metrics import confusion_matrix
from nlpfactory.ner.metrics import entity_metrics
from nlpfactory.ner.tags import entity_types


def score_tagger(predictor, frame, tag_names: list[str], name: str, split: str):
    from nlpfactory.evaluate import Evaluation

    if list(predictor.labels) != list(tag_names):
        raise ValueError(f"the model's tags {predictor.labels} differ from the Dataset's {tag_names}; "
                         "evaluate a model trained on this data")
    gold = [list(t) for t in frame["tags"]]
    predicted = predictor.predict_tags(frame["text"].tolist())
    m = entity_metrics(gold, predicted, entity_types(tag_names))
    index = {t: i for i, t in enumerate(tag_names)}
    matrix = confusion_matrix([index[t] for s in gold for t in s], [index[t] for s in predicted for t in s],
                              len(tag_names))
    overall = {"entity_precision": m["precision"], "entity_recall": m["recall"], "entity_f1": m["f1"],
               "token_accuracy": m["token_accuracy"], "examples": m["sentences"],
               "per_class": m["per_type"], "confusions": m["confusions"],
               "confusion_matrix": matrix.tolist()}
    return Evaluation(overall, {}, list(tag_names), markdown_report(name, split, overall, tag_names))


def markdown_report(name: str, split: str, m: dict, tag_names: list[str]) -> str:
    from nlpfactory.evaluate import confusion_table, scores_table

    lines = [f"# Evaluation of {name} on the {split} split", "",
             f"{m['examples']} sentences · entity F1 **{m['entity_f1']:.4f}** (precision "
             f"{m['entity_precision']:.4f}, recall {m['entity_recall']:.4f}; exact span and type) · "
             f"token accuracy {m['token_accuracy']:.4f}", "",
             *scores_table("type", m["per_class"], {"gold entities": "support", "predicted": "predicted"})]
    lines += ["", "Most frequent errors (an entity counted once, by how it went wrong):", "",
              "| error | count |", "|---|---|"]
    lines += [f"| {what} | {n} |" for what, n in m["confusions"]] or ["| none | 0 |"]
    lines += ["", *confusion_table("Tag confusion matrix", tag_names, np.asarray(m["confusion_matrix"]).tolist())]
    return "\n".join(lines) + "\n"
