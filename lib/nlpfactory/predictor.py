"""Load any Model folder (or export folder) as something that turns texts into label
probabilities. Each model kind named in nlpfactory.json maps to one predictor class here, so
`evaluate`, `predict` and `serve` treat a fine-tuned classifier, a distilled student and a
prompt-tuned few-shot model alike.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from nlpfactory.models.card import read_card

# kind -> "module:Class"; imported on demand so a kind's heavy dependencies load only when used.
PREDICTORS: dict[str, str] = {
    "classifier": "nlpfactory.predictor:ClassifierPredictor",
    "metakd_teacher": "nlpfactory.predictor:ClassifierPredictor",
    # Sequence labeling: tags per character and entity spans.
    "tagger": "nlpfactory.ner.predict:TaggerPredictor",
    "onnx_tagger": "nlpfactory.ner.predict:OnnxTaggerPredictor",
    # An export folder (written by `nlpfactory export`), run with ONNX Runtime.
    "onnx_classifier": "nlpfactory.serving.onnx_predictor:OnnxPredictor",
    # Few-shot prompt models: a masked LM plus its prompt (and CP-Tuning's class anchors).
    "pet": "nlpfactory.fewshot.predict:ClozePredictor",
    "ptuning": "nlpfactory.fewshot.predict:ClozePredictor",
    "cptuning": "nlpfactory.fewshot.predict:CPTuningPredictor",
}


class Predictor:
    """Base: `labels` in id order and `predict_proba(texts, texts_b)` -> (n, labels) array."""

    labels: list[str]
    card: dict

    def predict_proba(self, texts: Sequence[str], texts_b: Sequence[str] | None = None) -> np.ndarray:
        raise NotImplementedError

    def predict(self, texts: Sequence[str], texts_b: Sequence[str] | None = None) -> list[str]:
        probs = self.predict_proba(texts, texts_b)
        return [self.labels[i] for i in probs.argmax(axis=1)]


class ClassifierPredictor(Predictor):
    """A sequence-classification Model folder, run with PyTorch."""

    def __init__(self, model_dir: str | Path, card: dict, device: str = "auto", batch_size: int = 64):
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from nlpfactory.train.loop import device_for

        self.card, self.labels = card, list(card["labels"])
        self.device = device_for(device)
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModelForSequenceClassification.from_pretrained(model_dir).to(self.device).eval()
        self.max_length = int(card.get("max_length", 128))
        self.batch_size = batch_size
        self._torch = torch

    def logits(self, texts: Sequence[str], texts_b: Sequence[str] | None = None) -> np.ndarray:
        return batched_logits(self._batch_logits, texts, texts_b, self.batch_size, len(self.labels))

    def _batch_logits(self, texts: list[str], texts_b: list[str] | None) -> np.ndarray:
        enc = self.tokenizer(
            texts, texts_b, truncation=True, max_length=self.max_length, padding=True, return_tensors="pt"
        ).to(self.device)
        with self._torch.inference_mode():
            return self.model(**enc).logits.float().cpu().numpy()

    def predict_proba(self, texts, texts_b=None) -> np.ndarray:
        return softmax(self.logits(texts, texts_b))


def batched_logits(
    logits_of: Callable, texts: Sequence[str], texts_b: Sequence[str] | None, batch_size: int, num_labels: int
) -> np.ndarray:
    """logits_of(texts, texts_b) a slice of batch_size rows at a time, so memory stays bounded
    however many rows come; every classifier predictor's logits go through here."""
    out = []
    for start in range(0, len(texts), batch_size):
        b = list(texts_b[start : start + batch_size]) if texts_b is not None else None
        out.append(logits_of(list(texts[start : start + batch_size]), b))
    return np.concatenate(out) if out else np.zeros((0, num_labels), dtype=np.float32)


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = logits / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def load_predictor(model_dir: str | Path, device: str = "auto") -> Predictor:
    card = read_card(model_dir)
    kind = card.get("kind", "classifier")
    if kind == "metakd_teacher" and card.get("task") == "sequence_labeling":
        kind = "tagger"  # a tagging meta-teacher answers tags like any tagger (its domain branch is not needed)
    if kind not in PREDICTORS:
        raise ValueError(
            f"{model_dir}: model kind {kind!r} cannot predict labels; known kinds: {', '.join(sorted(PREDICTORS))}"
        )
    module, cls = PREDICTORS[kind].split(":")
    return getattr(importlib.import_module(module), cls)(model_dir, card, device=device)
