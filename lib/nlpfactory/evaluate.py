"""Evaluate a Model on a Dataset split: accuracy, macro-F1, per-class and per-domain scores,
a confusion matrix, and a Markdown report for people."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from nlpfactory.config import to_dict
from nlpfactory.data.dataset import label_ids, load_split, read_info
from nlpfactory.metrics import classification_metrics
from nlpfactory.models.labels import check_labels_match
from nlpfactory.predictor import load_predictor
from nlpfactory.stages.evaluate import EvaluateConfig
from nlpfactory.tracking import NO_TRACKING, Tracker


@dataclasses.dataclass
class Evaluation:
    metrics: dict            # overall, see metrics.classification_metrics
    per_domain: dict         # domain -> the same keys, when the data has domains
    labels: list[str]
    report: str              # Markdown

    def scalars(self) -> dict[str, float]:
        """Flat numbers for KFP Metrics and MLflow: overall, per class, per domain."""
        out = {k: v for k, v in self.metrics.items() if isinstance(v, (int, float))}
        for label, scores in self.metrics["per_class"].items():
            out[f"f1_{label}"] = scores["f1"]  # per entity type for a tagger
        for domain, m in self.per_domain.items():
            out[f"accuracy_{domain}"] = m["accuracy"]
            out[f"macro_f1_{domain}"] = m["macro_f1"]
        return out


def score_split(model_dir: str | Path, dataset_dir: str | Path, cfg: EvaluateConfig) -> Evaluation:
    info = read_info(dataset_dir)
    frame = load_split(dataset_dir, cfg.split)
    if cfg.domain:
        frame = frame[frame["domain"] == cfg.domain].reset_index(drop=True)
    predictor = load_predictor(model_dir)
    if info.task == "sequence_labeling":
        from nlpfactory.ner.evaluate import score_tagger

        return score_tagger(predictor, frame, list(info.labels), cfg.model_name or Path(model_dir).name, cfg.split)
    check_labels_match(predictor.labels, info.labels, model=str(model_dir))
    texts_b = frame["text_b"].tolist() if info.is_pair else None
    probs = predictor.predict_proba(frame["text"].tolist(), texts_b)
    y_true, y_pred = np.asarray(label_ids(frame, info)), probs.argmax(axis=1)
    overall = classification_metrics(y_true, y_pred, info.labels)
    per_domain = {}
    if "domain" in frame and frame["domain"].nunique() > 1:
        for domain in sorted(frame["domain"].unique()):
            rows = (frame["domain"] == domain).to_numpy()
            per_domain[domain] = classification_metrics(y_true[rows], y_pred[rows], info.labels)
    name = cfg.model_name or Path(model_dir).name
    return Evaluation(overall, per_domain, list(info.labels), markdown_report(name, cfg.split, overall, per_domain, info.labels))


def markdown_report(name: str, split: str, overall: dict, per_domain: dict, labels: list[str]) -> str:
    lines = [f"# Evaluation of {name} on the {split} split", "",
             f"{overall['examples']} examples · accuracy **{overall['accuracy']:.4f}** · "
             f"macro-F1 **{overall['macro_f1']:.4f}** · always guessing the largest class would "
             f"score {majority_rate(overall):.4f}", "",
             *scores_table("class", overall["per_class"], {"support": "support"})]
    if per_domain:
        lines += ["", "| domain | examples | accuracy | macro-F1 |", "|---|---|---|---|"]
        for domain, m in per_domain.items():
            lines.append(f"| {domain} | {m['examples']} | {m['accuracy']:.4f} | {m['macro_f1']:.4f} |")
    lines += ["", *confusion_table("Confusion matrix", labels, overall["confusion_matrix"])]
    return "\n".join(lines) + "\n"


def scores_table(first: str, per_class: dict, counts: dict[str, str]) -> list[str]:
    """Precision, recall and F1 of each class (or entity type) as Markdown lines, headed by
    `first`, then its counts: column header -> key in its scores."""
    head = [first, "precision", "recall", "F1", *counts]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, s in per_class.items():
        cells = [name, *(f"{s[k]:.4f}" for k in ("precision", "recall", "f1")), *(str(s[k]) for k in counts.values())]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def confusion_table(title: str, labels: list[str], matrix) -> list[str]:
    """A confusion matrix as Markdown lines, under `title`: rows true, columns predicted."""
    lines = [f"{title} (rows: true, columns: predicted):", "",
             "| | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
    for label, row in zip(labels, matrix, strict=True):
        lines.append(f"| **{label}** | " + " | ".join(str(v) for v in row) + " |")
    return lines


def majority_rate(metrics: dict) -> float:
    """Accuracy of always predicting the most frequent class: the floor a model must beat."""
    supports = [c["support"] for c in metrics["per_class"].values()]
    return max(supports) / sum(supports) if sum(supports) else 0.0


def confusion_figure(labels: list[str], matrix: list[list[int]], title: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nlpfactory.plotting import font_context

    size = max(3.5, 0.5 * len(labels) + 2)
    # Text objects take their font when created, so the figure is built inside the context.
    with font_context([*labels, title]):
        fig, ax = plt.subplots(figsize=(size, size))
        ax.imshow(np.asarray(matrix), cmap="Blues")
        ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
        ax.set_yticks(range(len(labels)), labels)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(title)
        for i, row in enumerate(matrix):
            for j, v in enumerate(row):
                ax.text(j, i, str(v), ha="center", va="center", fontsize=8)
        fig.tight_layout()
    return fig


def evaluate(cfg: EvaluateConfig, model_dir: str | Path, dataset_dir: str | Path, *,
             tracker: Tracker = NO_TRACKING) -> Evaluation:
    """Score the model and log the numbers, report and confusion-matrix PNG to MLflow."""
    task = " ".join(part for part in ("evaluate", cfg.model_name, cfg.domain) if part)
    with tracker.stage_run("evaluate", to_dict(cfg), task=task) as run:
        result = score_split(model_dir, dataset_dir, cfg)
        run.log_metrics(result.scalars())
        run.log_text(result.report, "report.md")
        run.log_text(json.dumps({"overall": result.metrics, "per_domain": result.per_domain},
                                ensure_ascii=False, indent=2), "metrics.json")
        figure = confusion_figure(result.labels, result.metrics["confusion_matrix"], task)
        run.log_figure(figure, "confusion_matrix.png")
        import matplotlib.pyplot as plt

        plt.close(figure)
    return result
