"""Fine-tune a model (a preset, a local folder or a hub id) into a classifier on a Dataset:
the teacher of the distillation recipes, or a plain baseline."""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path

import numpy as np

from nlpfactory.atomic import atomic_dir
from nlpfactory.backbones import resolve
from nlpfactory.config import to_dict
from nlpfactory.data.dataset import (
    DatasetInfo,
    label_ids,
    read_info,
    train_and_dev,
)
from nlpfactory.metrics import classification_metrics
from nlpfactory.models.card import count_parameters, lineage, write_card
from nlpfactory.models.labels import name_labels
from nlpfactory.models.load import load_model, save_model
from nlpfactory.stages.finetune import FinetuneConfig
from nlpfactory.tracking import NO_TRACKING, Tracker
from nlpfactory.train import distributed
from nlpfactory.train.batching import encode, run_batches
from nlpfactory.train.checkpoint import checkpoint_dir_for
from nlpfactory.train.loop import FitResult, fit
from nlpfactory.train.rates import rates_used, with_auto_rates

log = logging.getLogger(__name__)


@dataclasses.dataclass
class FinetuneResult:
    model_dir: Path
    fit: FitResult
    dev_metrics: dict
    parameters: int


def labelled_rows(tokenizer, frame, info: DatasetInfo, max_length: int) -> list[dict]:
    """Tokenized rows with their label ids, ready for the training loop."""
    texts_b = frame["text_b"].tolist() if info.is_pair else None
    rows = encode(tokenizer, frame["text"].tolist(), texts_b, max_length)
    for row, label in zip(rows, label_ids(frame, info)):
        row["labels"] = label
    return rows


def predict_rows(model, rows: list[dict], batch_size: int = 64, pad_id: int = 0) -> np.ndarray:
    """Logits for tokenized rows, in order."""
    return run_batches(model, rows, lambda m, batch: m(**batch).logits, pad_id, batch_size,
                       fields=("input_ids", "token_type_ids")).numpy()


def dev_scorer(rows: list[dict], labels: list[str], metric: str, pad_id: int = 0):
    """An evaluate(model) callback for the training loop: dev metrics with a "score"."""
    y_true = [r["labels"] for r in rows]

    def evaluate(model) -> dict:
        y_pred = predict_rows(model, rows, pad_id=pad_id).argmax(axis=1)
        m = classification_metrics(y_true, y_pred, labels)
        return {"score": m[metric], "accuracy": m["accuracy"], "macro_f1": m["macro_f1"]}

    return evaluate


def finetune(cfg: FinetuneConfig, dataset_dir: str | Path, output_dir: str | Path, *,
             tracker: Tracker = NO_TRACKING) -> FinetuneResult:
    """Train a classifier on the Dataset's train split, pick the best epoch on dev, and write
    a Model folder (safetensors + tokenizer + nlpfactory.json) atomically. With
    nproc_per_node > 1 it runs itself in that many processes under torchrun."""
    if cfg.nproc_per_node > 1 and not distributed.is_distributed():
        return distributed.launch(finetune, (cfg, dataset_dir, output_dir),
                                  {"tracker": tracker}, cfg.nproc_per_node)
    info = read_info(dataset_dir)
    if info.task == "sequence_labeling":
        from nlpfactory.ner.train import finetune_tagger

        return finetune_tagger(cfg, dataset_dir, output_dir, tracker=tracker)
    train, dev = train_and_dev(dataset_dir)

    checkpoint_dir = checkpoint_dir_for("finetune", to_dict(cfg), dataset_dir)
    with tracker.stage_run("finetune", to_dict(cfg)) as run:
        model_name = resolve(cfg.model)
        cfg = with_auto_rates(cfg, model_name, "the classifier", run)
        model, tokenizer, origin = load_model(
            model_name, "classification", num_labels=len(info.labels), seed=cfg.seed,
            texts=lambda: train["text"].tolist() + (train["text_b"].tolist() if info.is_pair else []),
            vocab_size=cfg.vocab_size, tokenizer_dir=checkpoint_dir / "tokenizer",
        )
        name_labels(model, info.labels)
        pad_id = tokenizer.pad_token_id or 0
        rows = labelled_rows(tokenizer, train, info, cfg.max_length)
        evaluate = dev_scorer(labelled_rows(tokenizer, dev, info, cfg.max_length), info.labels,
                              cfg.metric, pad_id) if dev is not None and len(dev) else None
        started = time.time()
        result = fit(
            model, rows, lambda m, batch: m(**batch).loss, cfg,
            checkpoint_dir=checkpoint_dir,
            evaluate=evaluate, on_metrics=run.log_metrics, pad_id=pad_id, desc="finetune",
        )
        dev_metrics = evaluate(model) if evaluate else {}
        parameters = count_parameters(model)
        with atomic_dir(output_dir) as tmp:
            save_model(model.cpu(), tokenizer, tmp)
            write_card(tmp, {
                "task": info.task, "kind": "classifier", "labels": info.labels, "domains": info.domains,
                "base_model": model_name, "origin": origin, "parameters": parameters,
                "max_length": cfg.max_length, "text_columns": info.text_columns,
                "lineage": lineage("finetune", run, dataset_dir, info),
                "training": {"best_epoch": result.best_epoch, "steps": result.steps, **rates_used(cfg),
                             "seconds": round(time.time() - started, 1),
                             "samples_per_second": round(result.samples_per_second, 1)},
                "dev_metrics": dev_metrics,
            })
        run.log_metrics({f"final_dev_{k}": v for k, v in dev_metrics.items()} | {
            "parameters": parameters, "train_samples_per_second": result.samples_per_second})
    log.info("fine-tuned %s (%d parameters) -> %s; dev %s", model_name, parameters, output_dir, dev_metrics)
    return FinetuneResult(Path(output_dir), result, dev_metrics, parameters)
