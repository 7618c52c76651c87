"""Predictors for few-shot Model folders (card kinds pet, ptuning, cptuning).

A folder holds a plain masked LM (loads with AutoModelForMaskedLM), its tokenizer, and
nlpfactory.json with the prompt layout; `prompt.safetensors` holds the trained prompt vectors
(P-Tuning's encoder output, CP-Tuning's [PRO] embeddings) and, for CP-Tuning,
`prototypes.safetensors` the anchors. Probabilities: PET / P-Tuning q(l|x) = softmax of the
label scores; CP-Tuning softmax(scale * cosine similarity to each class).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from nlpfactory.fewshot.cptuning import features, prototype_scores
from nlpfactory.fewshot.model import PromptedMLM, PromptEmbeddings
from nlpfactory.fewshot.pattern import PromptLayout, build_rows
from nlpfactory.fewshot.pet import cloze_scores, word_token_ids
from nlpfactory.predictor import Predictor, softmax
from nlpfactory.train.batching import run_batches

PROMPT_FILE = "prompt.safetensors"
PROTOTYPES_FILE = "prototypes.safetensors"


def layout_of(card: dict) -> PromptLayout:
    prompt = card["prompt"]
    return PromptLayout(prompt["pattern"], prompt["mask_count"], prompt["prompt_length"])


class PromptPredictor(Predictor):
    """Shared loading: the masked LM, its prompt vectors and the prompt layout."""

    def __init__(self, model_dir: str | Path, card: dict, device: str = "auto", batch_size: int = 64):
        from safetensors.torch import load_file
        from transformers import AutoModelForMaskedLM, AutoTokenizer

        from nlpfactory.train.loop import device_for

        self.model_dir, self.card, self.labels = Path(model_dir), card, list(card["labels"])
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        mlm = AutoModelForMaskedLM.from_pretrained(model_dir)
        prompt = None
        if card["prompt"].get("file"):
            prompt = PromptEmbeddings(load_file(str(self.model_dir / card["prompt"]["file"]))["prompt"])
        self.model = PromptedMLM(mlm, prompt).to(device_for(device)).eval()
        self.layout = layout_of(card)
        self.max_length = int(card.get("max_length", 128))
        self.batch_size = batch_size

    def rows(self, texts: Sequence[str], texts_b: Sequence[str] | None) -> list[dict]:
        return build_rows(self.tokenizer, self.layout, texts, texts_b, self.max_length)

    def predict_proba(self, texts, texts_b=None) -> np.ndarray:
        if not len(texts):
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        return softmax(self.scores(self.rows(texts, texts_b)).numpy())

    def scores(self, rows: list[dict]) -> torch.Tensor:
        raise NotImplementedError


class ClozePredictor(PromptPredictor):
    """PET and P-Tuning: label-word scores at the mask slot."""

    def __init__(self, model_dir, card, device="auto", batch_size=64):
        super().__init__(model_dir, card, device, batch_size)
        words = [card["verbalizer"][label] for label in self.labels]
        self.words = word_token_ids(self.tokenizer, words)
        self.strategy = card.get("pet_mask_strategy", "mean")

    def scores(self, rows):
        return run_batches(
            self.model,
            rows,
            lambda m, b: cloze_scores(m, b, self.words, self.strategy),
            self.tokenizer.pad_token_id,
            self.batch_size,
        )


class CPTuningPredictor(PromptPredictor):
    """CP-Tuning: cosine similarity of the [OMSK] feature to each class's anchors."""

    def __init__(self, model_dir, card, device="auto", batch_size=64):
        from safetensors.torch import load_file

        super().__init__(model_dir, card, device, batch_size)
        spec = card["prototypes"]
        saved = load_file(str(self.model_dir / spec["file"]))
        self.anchors, self.anchor_labels = saved["anchors"], saved["anchor_labels"].long()
        self.how, self.scale = spec["predict"], float(spec["scale"])

    def scores(self, rows):
        feats = run_batches(self.model, rows, features, self.tokenizer.pad_token_id, self.batch_size)
        return self.scale * prototype_scores(feats, self.anchors, self.anchor_labels, len(self.labels), self.how)
