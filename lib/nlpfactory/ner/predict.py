"""Tags and entity spans from a tagger Model folder (kind `tagger`, written by finetune or
distill on a sequence-labeling Dataset)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nlpfactory.ner.inference import ExportTokenizer, char_scores, decode
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

        from nlpfactory.ner.train import torch_runner
        from nlpfactory.train.loop import device_for

        self.card, self.labels = card, list(card["labels"])
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        model = AutoModelForTokenClassification.from_pretrained(model_dir).to(device_for(device))
        self.run = torch_runner(model)
        self.max_length = int(card.get("max_length", 128))
        self.batch_size = batch_size

    def char_scores(self, texts: Sequence[str]) -> list[np.ndarray]:
        return char_scores(self.run, self.tokenizer, list(texts), len(self.labels), self.max_length,
                           self.batch_size)

    def predict_tags(self, texts: Sequence[str]) -> list[list[str]]:
        return decode(list(texts), self.char_scores(texts), self.labels)

    def predict_entities(self, texts: Sequence[str]) -> list[dict]:
        return [{"tags": tags, "entities": entities(text, tags)}
                for text, tags in zip(texts, self.predict_tags(texts), strict=True)]

    def predict_proba(self, texts, texts_b=None) -> np.ndarray:
        raise TypeError("a tagger labels characters, not texts: use predict_tags or predict_entities")


class OnnxTaggerPredictor(TaggerPredictor):
    """An export folder of a tagger (kind `onnx_tagger`), run by ONNX Runtime with the export's
    tokenizer.json: no torch nor transformers, so the MLflow pyfunc can use it."""

    def __init__(self, model_dir: str | Path, card: dict, device: str = "auto", precision: str = "auto",
                 batch_size: int = 64, threads: int | None = None):
        import onnxruntime as ort

        from nlpfactory.serving.onnx_predictor import _default_threads, onnx_file

        self.card, self.labels = card, list(card["labels"])
        self.max_length = int(card.get("max_length", 128))
        self.batch_size = batch_size
        self.tokenizer = ExportTokenizer(model_dir)
        options = ort.SessionOptions()
        options.intra_op_num_threads = _default_threads() if threads is None else threads
        options.inter_op_num_threads = 1
        self.path = onnx_file(model_dir, precision)
        session = ort.InferenceSession(str(self.path), options,
                                       providers=["CPUExecutionProvider"])
        names = [i.name for i in session.get_inputs()]
        self.run = lambda batch: session.run(["logits"], {n: batch[n] for n in names})[0]
