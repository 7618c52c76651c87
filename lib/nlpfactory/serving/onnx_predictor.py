"""Run an export folder (model.onnx / model.int8.onnx + tokenizer) with ONNX Runtime.

Deliberately free of torch and transformers: a serving process that only imports
onnxruntime and tokenizers stays small (the benchmark holds its RSS under 300 MB).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nlpfactory.errors import InputError
from nlpfactory.predictor import Predictor, batched_logits, softmax

FP32_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"
PRECISIONS = ("auto", "int8", "fp32")


def onnx_file(export_dir: str | Path, precision: str = "auto") -> Path:
    """The ONNX file to run: int8 when present (auto), or the one asked for."""
    if precision not in PRECISIONS:
        raise InputError(f"unknown precision {precision!r}", fix=f"choose one of {', '.join(PRECISIONS)}")
    export_dir = Path(export_dir)
    wanted = {"auto": [INT8_FILE, FP32_FILE], "int8": [INT8_FILE], "fp32": [FP32_FILE]}[precision]
    for name in wanted:
        if (export_dir / name).is_file():
            return export_dir / name
    raise InputError(f"no {' or '.join(wanted)} in the folder", file=str(export_dir),
                     fix="point at a folder written by `nlpfactory export` (or export with --quantize true for int8)")


def is_export_dir(path: str | Path) -> bool:
    return Path(path, FP32_FILE).is_file() or Path(path, INT8_FILE).is_file()


def load_tokenizer(export_dir: str | Path, max_length: int):
    """A `tokenizers.Tokenizer` that truncates to max_length and pads to the batch's longest."""
    from tokenizers import Tokenizer

    export_dir = Path(export_dir)
    if not (export_dir / "tokenizer.json").is_file():
        raise InputError("tokenizer.json is missing", file=str(export_dir),
                         fix="export again: the export writes the fast tokenizer beside the ONNX model")
    tokenizer = Tokenizer.from_file(str(export_dir / "tokenizer.json"))
    config_file = export_dir / "tokenizer_config.json"
    config = json.loads(config_file.read_text(encoding="utf-8")) if config_file.is_file() else {}
    pad_token = config.get("pad_token") or "[PAD]"
    pad_id = tokenizer.token_to_id(pad_token)
    tokenizer.enable_truncation(max_length=max_length)
    tokenizer.enable_padding(pad_id=0 if pad_id is None else pad_id, pad_token=pad_token)
    return tokenizer


def _default_threads() -> int:
    # ONNX Runtime ignores OMP_NUM_THREADS; honour it so a shared machine stays shared. 0 = ORT decides.
    try:
        return int(os.environ.get("OMP_NUM_THREADS", "0"))
    except ValueError:
        return 0


class OnnxPredictor(Predictor):
    """An export folder run by ONNX Runtime; the same interface as the PyTorch predictors."""

    def __init__(self, model_dir: str | Path, card: dict, device: str = "auto",
                 precision: str = "auto", batch_size: int = 64, threads: int | None = None):
        import onnxruntime as ort

        self.card, self.labels = card, list(card["labels"])
        self.max_length = int(card.get("max_length", 128))
        self.batch_size = batch_size
        self.path = onnx_file(model_dir, precision)
        self.tokenizer = load_tokenizer(model_dir, self.max_length)
        options = ort.SessionOptions()
        options.intra_op_num_threads = _default_threads() if threads is None else threads
        options.inter_op_num_threads = 1
        available = ort.get_available_providers()
        providers = ["CPUExecutionProvider"]
        if device in ("auto", "cuda") and "CUDAExecutionProvider" in available:
            providers.insert(0, "CUDAExecutionProvider")
        self.session = ort.InferenceSession(str(self.path), options, providers=providers)
        self.input_names = [i.name for i in self.session.get_inputs()]

    def encode(self, texts: Sequence[str], texts_b: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        pairs = list(zip(texts, texts_b, strict=True)) if texts_b is not None else list(texts)
        encodings = self.tokenizer.encode_batch(pairs)
        fields = {"input_ids": [e.ids for e in encodings],
                  "attention_mask": [e.attention_mask for e in encodings],
                  "token_type_ids": [e.type_ids for e in encodings]}
        return {name: np.asarray(fields[name], dtype=np.int64) for name in self.input_names}

    def logits(self, texts: Sequence[str], texts_b: Sequence[str] | None = None) -> np.ndarray:
        return batched_logits(
            lambda a, b: self.session.run(["logits"], self.encode(a, b))[0].astype(np.float32),
            texts, texts_b, self.batch_size, len(self.labels))

    def predict_proba(self, texts, texts_b=None) -> np.ndarray:
        return softmax(self.logits(texts, texts_b))


def open_predictor(model_dir: str | Path, device: str = "auto", precision: str = "auto", batch_size: int = 64):
    """An export folder runs on ONNX Runtime; any Model folder goes through load_predictor,
    so every model kind (classifier, few-shot, ...) predicts the same way."""
    from nlpfactory.models.card import read_card
    from nlpfactory.predictor import load_predictor

    if is_export_dir(model_dir) and read_card(model_dir).get("kind") == "onnx_tagger":
        from nlpfactory.ner.predict import OnnxTaggerPredictor

        return OnnxTaggerPredictor(model_dir, read_card(model_dir), precision=precision, batch_size=batch_size)
    if is_export_dir(model_dir):
        return OnnxPredictor(model_dir, read_card(model_dir), device=device, precision=precision,
                             batch_size=batch_size)
    try:
        return load_predictor(model_dir, device=device)
    except ValueError as err:
        if isinstance(err, InputError):
            raise
        raise InputError(str(err), file=str(model_dir), fix="point at a model that predicts labels") from None
