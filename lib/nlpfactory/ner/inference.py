"""From texts to tags with any runner of padded batches (PyTorch or ONNX Runtime), free of
torch and transformers, so the ONNX predictor and the MLflow pyfunc run a tagger with
onnxruntime and tokenizers alone."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from nlpfactory.ner import align

# Words shared by neighbouring windows of a sentence longer than max_length.
WINDOW_STRIDE = 16
# A batch of padded rows (input_ids, attention_mask, token_type_ids as int64 arrays) ->
# (rows, tokens, tags) logits.
Runner = Callable[[dict[str, np.ndarray]], np.ndarray]


class ExportTokenizer:
    """An export folder's tokenizer.json (the `tokenizers` library, no transformers), with the
    few names alignment asks of a tokenizer: its special ids and a word's sub-token ids."""

    def __init__(self, folder: str | Path):
        from tokenizers import Tokenizer

        folder = Path(folder)
        config_file = folder / "tokenizer_config.json"
        config = json.loads(config_file.read_text(encoding="utf-8")) if config_file.is_file() else {}
        self.backend = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.cls_token_id = self._id(config.get("cls_token") or "[CLS]")
        self.sep_token_id = self._id(config.get("sep_token") or "[SEP]")
        self.pad_token_id = self._id(config.get("pad_token") or "[PAD]")

    def _id(self, token: str) -> int:
        found = self.backend.token_to_id(token)
        if found is None:
            raise ValueError(f"the tokenizer has no {token!r} token")
        return found

    def word_ids(self, word: str) -> list[int]:
        return self.backend.encode(word, add_special_tokens=False).ids


def pad_rows(rows: Sequence[dict], pad_id: int) -> dict[str, np.ndarray]:
    """input_ids, attention_mask and token_type_ids padded to the longest row."""
    width = max(len(r["input_ids"]) for r in rows)
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    types = np.zeros((len(rows), width), dtype=np.int64)
    for i, r in enumerate(rows):
        n = len(r["input_ids"])
        ids[i, :n], mask[i, :n], types[i, :n] = r["input_ids"], 1, r["token_type_ids"]
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def char_scores(run: Runner, tokenizer, texts: Sequence[str], num_tags: int, max_length: int,
                batch_size: int = 64) -> list[np.ndarray]:
    """Per sentence, (characters, tags) logits, long sentences stitched from their windows."""
    rows, windows = align.encode(tokenizer, texts, max_length, WINDOW_STRIDE)
    scores: list[np.ndarray] = []
    for start in range(0, len(rows), batch_size):
        scores += list(run(pad_rows(rows[start:start + batch_size], tokenizer.pad_token_id or 0)))
    return align.stitch(texts, windows, scores, num_tags)


def decode(texts: Sequence[str], scores: Sequence[np.ndarray], tag_names: Sequence[str]) -> list[list[str]]:
    return [align.word_tags(t, s.argmax(axis=1), tag_names) for t, s in zip(texts, scores, strict=True)]
