"""The few-shot stage: draw K labelled rows per class, prompt-tune a masked LM on them with
PET, P-Tuning or CP-Tuning, and write a Model folder that predicts like any classifier."""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import torch
from safetensors.torch import save_file

from nlpfactory.atomic import atomic_dir
from nlpfactory.backbones import resolve
from nlpfactory.config import to_dict
from nlpfactory.data.dataset import DatasetInfo, has_split, label_ids, load_split, read_info
from nlpfactory.fewshot.config import FewshotConfig
from nlpfactory.fewshot.cptuning import class_means, cptuning_loss, features, prototype_scores
from nlpfactory.fewshot.model import PromptedMLM, PromptEmbeddings, embed_phrase
from nlpfactory.fewshot.pattern import (
    PromptLayout,
    build_rows,
    cptuning_pattern,
    pieces,
    ptuning_pattern,
)
from nlpfactory.fewshot.pet import cloze_loss, cloze_scores, label_words, word_token_ids
from nlpfactory.fewshot.predict import PROMPT_FILE, PROTOTYPES_FILE
from nlpfactory.fewshot.ptuning import PromptEncoder
from nlpfactory.fewshot.sampler import balanced_batches, sample_k_shot
from nlpfactory.models.card import count_parameters, lineage, write_card
from nlpfactory.models.load import load_model, save_model
from nlpfactory.tracking import NO_TRACKING, Tracker
from nlpfactory.train.batching import run_batches
from nlpfactory.train.checkpoint import checkpoint_dir_for
from nlpfactory.train.config import decay_groups
from nlpfactory.train.loop import FitResult, fit

log = logging.getLogger(__name__)


@dataclasses.dataclass
class FewshotResult:
    model_dir: Path
    fit: FitResult
    dev_metrics: dict
    parameters: int
    train_rows: int


@dataclasses.dataclass
class Method:
    """What differs between the three methods, once the backbone is loaded."""

    model: PromptedMLM
    layout: PromptLayout
    loss: Callable  # loss(model, batch) -> scalar
    scores: Callable  # scores(model, rows, train_rows) -> (rows, labels) tensor, higher is likelier
    card: dict
    param_groups: list | None = None
    balanced: bool = False  # batches with every class at least twice (CP-Tuning's pairs)


def fewshot(cfg: FewshotConfig, dataset_dir: str | Path, output_dir: str | Path, *,
            tracker: Tracker = NO_TRACKING) -> FewshotResult:
    """Train on `cfg.shots_per_class` rows per class of the train split (the best epoch picked
    on as many dev rows per class, when there is a dev split) and write the Model folder."""
    info = read_info(dataset_dir)
    train_all = load_split(dataset_dir, "train")
    shots = sample_k_shot(train_all, cfg.shots_per_class, cfg.seed, info.labels)
    dev = None
    if cfg.dev_shots_per_class and has_split(dataset_dir, "dev"):
        dev = sample_k_shot(load_split(dataset_dir, "dev"), cfg.dev_shots_per_class, cfg.seed,
                            info.labels, strict=False, split="dev")

    with tracker.stage_run("fewshot", to_dict(cfg)) as run:
        model_name = resolve(cfg.model)
        mlm, tokenizer, origin = load_model(model_name, "mlm", texts=lambda: _vocabulary_text(cfg, train_all, info),
                                            vocab_size=cfg.vocab_size, seed=cfg.seed)
        torch.manual_seed(cfg.seed)  # prompt encoder / embeddings start the same for a seed
        method = _METHODS[cfg.method](cfg, mlm, tokenizer, info)
        rows = _labelled(build_rows(tokenizer, method.layout, *_texts(shots, info), cfg.max_length), shots, info)
        dev_rows = _labelled(build_rows(tokenizer, method.layout, *_texts(dev, info), cfg.max_length), dev, info) \
            if dev is not None and len(dev) else None

        def evaluate(model) -> dict:
            predicted = method.scores(model, dev_rows, rows).argmax(1)
            accuracy = (predicted == torch.tensor([r["labels"] for r in dev_rows])).float().mean().item()
            return {"score": accuracy, "accuracy": accuracy}

        batches = None
        if method.balanced:
            labels = [r["labels"] for r in rows]

            def batches(epoch: int) -> list[list[int]]:
                return balanced_batches(labels, cfg.batch_size, seed=cfg.seed + epoch)

        started = time.time()
        result = fit(method.model, rows, method.loss, cfg,
                     checkpoint_dir=checkpoint_dir_for("fewshot", to_dict(cfg), dataset_dir),
                     evaluate=evaluate if dev_rows else None, on_metrics=run.log_metrics,
                     param_groups=method.param_groups, batches_for_epoch=batches,
                     pad_id=tokenizer.pad_token_id, desc=cfg.method)
        seconds = time.time() - started
        dev_metrics = evaluate(method.model) if dev_rows else {}
        parameters = count_parameters(method.model)
        _save(output_dir, method, rows, tokenizer, {
            "task": info.task, "kind": cfg.method, "labels": info.labels, "domains": info.domains,
            "base_model": model_name, "origin": origin, "parameters": parameters,
            "max_length": cfg.max_length, "text_columns": info.text_columns,
            "lineage": lineage("fewshot", run, dataset_dir, info),
            "fewshot": {"method": cfg.method, "shots_per_class": cfg.shots_per_class, "seed": cfg.seed,
                        "train_rows": len(rows), "dev_rows": len(dev_rows or [])},
            "training": {"best_epoch": result.best_epoch, "steps": result.steps, "seconds": round(seconds, 1)},
            "dev_metrics": dev_metrics,
        })
        run.log_metrics({f"final_dev_{k}": v for k, v in dev_metrics.items()} |
                        {"parameters": parameters, "train_rows": len(rows), "train_seconds": seconds})
    log.info("%s on %d rows (%d per class) -> %s; dev %s", cfg.method, len(rows), cfg.shots_per_class,
             output_dir, dev_metrics)
    return FewshotResult(Path(output_dir), result, dev_metrics, parameters, len(rows))


def _vocabulary_text(cfg: FewshotConfig, train: pd.DataFrame, info: DatasetInfo) -> list[str]:
    """A preset learns its vocabulary from the training text plus every word the prompts use."""
    prompt_words = [p for kind, p in pieces(cfg.pattern) if kind == "literal"]
    words = label_words(info.labels, cfg.verbalizer) if cfg.method != "cptuning" else []
    columns = ["text", "text_b"] if info.is_pair else ["text"]
    return [str(t) for c in columns for t in train[c]] + prompt_words + words + [cfg.prompt_init_phrase]


def _texts(frame: pd.DataFrame | None, info: DatasetInfo):
    if frame is None:
        return [], None
    return frame["text"].tolist(), frame["text_b"].tolist() if info.is_pair else None


def _labelled(rows: list[dict], frame: pd.DataFrame, info: DatasetInfo) -> list[dict]:
    for row, label in zip(rows, label_ids(frame, info)):
        row["labels"] = label
    return rows


def _groups(model: PromptedMLM, cfg: FewshotConfig) -> list[dict]:
    """The language model at the stage's learning rate, the prompt at its own."""
    return decay_groups(model.mlm.named_parameters(), cfg.weight_decay) + [
        {"params": list(model.prompt.parameters()), "weight_decay": 0.0, "lr": cfg.prompt_learning_rate}]


def _cloze(cfg: FewshotConfig, mlm, tokenizer, info: DatasetInfo) -> Method:
    """PET (the pattern as written) and P-Tuning (pseudo tokens from the prompt encoder)."""
    words = label_words(info.labels, cfg.verbalizer)
    word_ids = word_token_ids(tokenizer, words)
    mask_count = max(len(w) for w in word_ids)
    if cfg.method == "ptuning":
        prompt = PromptEncoder(cfg.prompt_length, mlm.get_input_embeddings().embedding_dim, cfg.prompt_encoder)
        layout = PromptLayout(ptuning_pattern(cfg.pattern), mask_count, cfg.prompt_length)
    else:
        prompt, layout = None, PromptLayout(cfg.pattern, mask_count)
    model = PromptedMLM(mlm, prompt)
    pad = tokenizer.pad_token_id

    def scores(m, rows, _train_rows):
        return run_batches(m, rows, lambda mm, b: cloze_scores(mm, b, word_ids, cfg.pet_mask_strategy), pad)

    return Method(model, layout, functools.partial(cloze_loss, words=word_ids, strategy=cfg.pet_mask_strategy),
                  scores, {"verbalizer": dict(zip(info.labels, words)), "pet_mask_strategy": cfg.pet_mask_strategy},
                  param_groups=_groups(model, cfg) if prompt is not None else None)


def _cptuning(cfg: FewshotConfig, mlm, tokenizer, info: DatasetInfo) -> Method:
    prompt = PromptEmbeddings(embed_phrase(mlm, tokenizer, cfg.prompt_init_phrase, cfg.prompt_count))
    model = PromptedMLM(mlm, prompt)
    layout = PromptLayout(cptuning_pattern(info.is_pair), 1, cfg.prompt_count)
    pad = tokenizer.pad_token_id
    loss = functools.partial(cptuning_loss, margin=cfg.margin, scale=cfg.scale, positive_cost=cfg.positive_cost,
                             mlm_weight=cfg.mlm_weight, mask_id=tokenizer.mask_token_id,
                             special_ids=tokenizer.all_special_ids, mask_ratio=cfg.mlm_mask_ratio)

    def scores(m, rows, train_rows):
        anchors = run_batches(m, train_rows, features, pad)
        labels = torch.tensor([r["labels"] for r in train_rows])
        return prototype_scores(run_batches(m, rows, features, pad), anchors, labels, len(info.labels), cfg.predict)

    return Method(model, layout, loss, scores,
                  {"prototypes": {"file": PROTOTYPES_FILE, "predict": cfg.predict, "scale": cfg.scale}},
                  param_groups=_groups(model, cfg), balanced=True)


def _save(output_dir: str | Path, method: Method, rows: list[dict], tokenizer, card: dict) -> None:
    """The masked LM as a plain transformers folder, the prompt vectors and CP-Tuning's anchors
    beside it, and a card that says how to rebuild the prompt."""
    model = method.model
    prompt = {"pattern": method.layout.pattern, "mask_count": method.layout.mask_count,
              "prompt_length": method.layout.prompt_length, "file": PROMPT_FILE if model.prompt else None}
    extra = {}
    if "prototypes" in method.card:
        anchors = run_batches(model, rows, features, tokenizer.pad_token_id)
        anchor_labels = torch.tensor([r["labels"] for r in rows])
        extra = {"anchors": anchors.contiguous(), "anchor_labels": anchor_labels,
                 "class_means": class_means(anchors, anchor_labels, len(card["labels"])).contiguous()}
        method.card["prototypes"] |= {
            "anchors": len(rows),
            "tensors": {"anchors": "normalised [OMSK] feature of each K-shot training row (rows, hidden)",
                        "anchor_labels": "label id of each anchor (rows,)",
                        "class_means": "normalised mean anchor of each label (labels, hidden)"}}
    model.cpu()
    with atomic_dir(output_dir) as tmp:
        save_model(model.mlm, tokenizer, tmp)
        if model.prompt is not None:
            save_file({"prompt": model.prompt().detach().contiguous()}, str(tmp / PROMPT_FILE))
        if extra:
            save_file(extra, str(tmp / PROTOTYPES_FILE))
        write_card(tmp, card | method.card | {"prompt": prompt})


_METHODS = {"pet": _cloze, "ptuning": _cloze, "cptuning": _cptuning}
