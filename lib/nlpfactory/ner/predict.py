"""Tags and entity spans from a tagger Model folder (kind `tagger`, written by finetune or
distill on a sequence-labeling Dataset)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nlpfactory.ner.tags import repair_bio, to_spans
from nlpfactory.predictor import Predictor


def entities(text: str, tags: Sequence[str]) -> list[dict]:
    """[{"start", "end", "type", "text"}] with `end` exclusive, from BIO tags."""
    return [{"start": a, "end": b, "type": kind, "text": text[a:b]}
            for a, b, kind in to_spans(repair_bio(tags))]


class TaggerPredictor(Predictor):
    """`labels` are the tag names; `predict_tags` and `predict_entities` are the answers."""

    def __init__(self, model_dir: str | Path, card: dict, device: str = "auto", batch_size: int = 64):
        from transformers import AutoModelForTokenClassification, AutoTokenizer

        from nlpfactory.train.loop import device_for

        self.card, self.labels = card, list(card["labels"])
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModelForTokenClassification.from_pretrained(model_dir).to(device_for(device)).eval()
        self.max_length = int(card.get("max_length", 128))
        self.batch_size = batch_size

    def char_scores(self, texts: Sequence[str]) -> list[np.ndarray]:
        from nlpfactory.ner.train import char_scores

        return char_scores(self.model, self.tokenizer, list(texts), len(self.labels), self.max_length,
                           self.batch_size)

    def predict_tags(self, texts: Sequence[str]) -> list[list[str]]:
        from nlpfactory.ner.train import decode

        return decode(list(texts), self.char_scores(texts), self.labels)

    def predict_entities(self, texts: Sequence[str]) -> list[dict]:
        return [{"tags": tags, "entities": entities(text, tags)}
                for text, tags in zip(texts, self.predict_tags(texts), strict=True)]

    def predict_proba(self, texts, texts_b=None) -> np.ndarray:
        raise TypeError("a tagger labels characters, not texts: use predict_tags or predict_entities")
