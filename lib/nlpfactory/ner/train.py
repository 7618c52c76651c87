"""Token classification: a tagging head on any backbone (preset, folder, hub id), trained on
a sequence-labeling Dataset and written as a Model folder that AutoModelForTokenClassification
loads. The `finetune` stage hands sequence-labeling Datasets here."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from nlpfactory.atomic import atomic_dir
from nlpfactory.backbones import resolve
from nlpfactory.config import to_dict
from nlpfactory.data.dataset import has_split, load_split, read_info
from nlpfactory.models.card import CARD_FILE, count_parameters, write_card
from nlpfactory.models.labels import name_labels
from nlpfactory.models.load import load_model, save_model
from nlpfactory.ner import align
from nlpfactory.ner.inference import WINDOW_STRIDE, char_scores, decode
from nlpfactory.ner.metrics import entity_metrics
from nlpfactory.ner.tags import entity_types
from nlpfactory.tracking import NO_TRACKING, Tracker
from nlpfactory.train.checkpoint import checkpoint_dir_for
from nlpfactory.train.loop import fit
from nlpfactory.train.rates import rates_used, with_auto_rates

log = logging.getLogger(__name__)

MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def tag_rows(tokenizer, texts: Sequence[str], tags: Sequence[Sequence[str]], tag_names: Sequence[str],
             max_length: int) -> list[dict]:
    index = {t: i for i, t in enumerate(tag_names)}
    ids = [[index[t] for t in sentence] for sentence in tags]
    rows, _ = align.encode(tokenizer, texts, max_length, WINDOW_STRIDE, ids)
    return rows


def start_from_tag_prior(model, rows: Sequence[dict], num_tags: int) -> None:
    """Set a new tagging head's bias to the log frequency of each tag in the training rows.

    A head that starts uniform over the tags pays most of its first loss for not answering O
    (about 88% of MSRA's tags). A randomly initialised encoder answers that fastest by giving
    every position the same vector, and it did not recover within the quick benchmark's steps:
    every prediction O, entity F1 0 (bench/ner.py --quick, before this). Starting at the prior
    leaves only what tells tokens apart to learn; the usual bias start for skewed classes."""
    head = getattr(model, "classifier", None)
    if not isinstance(head, torch.nn.Linear) or head.out_features != num_tags:
        log.warning("the tagging head is not one linear layer over the %d tags; its bias starts at 0", num_tags)
        return
    counts = np.bincount([t for r in rows for t in r["tag_ids"] if t != align.IGNORE], minlength=num_tags)
    prior = (counts + 1) / (counts.sum() + num_tags)  # add-one: a tag absent from training stays possible
    with torch.no_grad():
        head.bias.copy_(torch.from_numpy(np.log(prior)).to(head.bias))


def is_tagger(name: str) -> bool:
    """A Model folder written by finetune or distill on tags (its head is kept, not restarted)."""
    card = Path(name).expanduser() / CARD_FILE
    return card.is_file() and json.loads(card.read_text(encoding="utf-8")).get("kind") == "tagger"


def tagging_loss(model, batch: dict) -> torch.Tensor:
    logits = model(**{k: batch[k] for k in MODEL_INPUTS}).logits
    return F.cross_entropy(logits.flatten(0, 1).float(), batch["tag_ids"].flatten(), ignore_index=align.IGNORE)


def torch_runner(model):
    """A padded batch (numpy, see inference.pad_rows) -> (rows, tokens, tags) logits, with a
    PyTorch model."""
    model.eval()
    device = next(model.parameters()).device

    @torch.no_grad()
    def run(batch: dict) -> np.ndarray:
        inputs = {k: torch.from_numpy(batch[k]).to(device) for k in MODEL_INPUTS}
        return model(**inputs).logits.float().cpu().numpy()

    return run


def dev_scorer(tokenizer, frame, tag_names: list[str], max_length: int):
    texts, gold = frame["text"].tolist(), [list(t) for t in frame["tags"]]
    types = entity_types(tag_names)

    def evaluate(model) -> dict:
        predicted = decode(texts, char_scores(torch_runner(model), tokenizer, texts, len(tag_names), max_length),
                           tag_names)
        m = entity_metrics(gold, predicted, types)
        return {"score": m["f1"], "entity_f1": m["f1"], "entity_precision": m["precision"],
                "entity_recall": m["recall"], "token_accuracy": m["token_accuracy"]}

    return evaluate


def finetune_tagger(cfg, dataset_dir: str | Path, output_dir: str | Path, *, tracker: Tracker = NO_TRACKING):
    """The finetune stage for a sequence-labeling Dataset (cfg is a FinetuneConfig; the best
    epoch is picked by dev entity F1 whatever `metric` says, since accuracy is meaningless
    for tags that are mostly O)."""
    from nlpfactory.finetune import FinetuneResult

    info = read_info(dataset_dir)
    train = load_split(dataset_dir, "train")
    dev = load_split(dataset_dir, "dev") if has_split(dataset_dir, "dev") else None
    tag_names = list(info.labels)
    with tracker.stage_run("finetune", to_dict(cfg)) as run:
        model_name = resolve(cfg.model)
        cfg = with_auto_rates(cfg, model_name, "the tagger", run)
        model, tokenizer, origin = load_model(
            model_name, "token_classification", num_labels=len(tag_names), seed=cfg.seed,
            texts=lambda: train["text"].tolist(), vocab_size=cfg.vocab_size)
        name_labels(model, tag_names)
        rows = tag_rows(tokenizer, train["text"].tolist(), train["tags"], tag_names, cfg.max_length)
        if not is_tagger(cfg.model):
            start_from_tag_prior(model, rows, len(tag_names))
        evaluate = dev_scorer(tokenizer, dev, tag_names, cfg.max_length) if dev is not None and len(dev) else None
        started = time.time()
        result = fit(model, rows, tagging_loss, cfg,
                     checkpoint_dir=checkpoint_dir_for("finetune", to_dict(cfg), dataset_dir),
                     evaluate=evaluate, on_metrics=run.log_metrics,
                     pad_id=tokenizer.pad_token_id or 0, desc="finetune")
        dev_metrics = evaluate(model) if evaluate else {}
        parameters = count_parameters(model)
        write_tagger(model, tokenizer, output_dir, {
            "base_model": cfg.model, "origin": origin, "parameters": parameters,
            "labels": tag_names, "max_length": cfg.max_length,
            "lineage": {"stage": "finetune", "dataset": str(dataset_dir), "dataset_source": info.source,
                        "mlflow_run_id": run.run_id, "kfp_run_id": run.pipeline_run_id},
            "training": {"best_epoch": result.best_epoch, "steps": result.steps, **rates_used(cfg),
                         "seconds": round(time.time() - started, 1),
                         "samples_per_second": round(result.samples_per_second, 1)},
            "dev_metrics": dev_metrics})
        run.log_metrics({f"final_dev_{k}": v for k, v in dev_metrics.items()} | {
            "parameters": parameters, "train_samples_per_second": result.samples_per_second})
    log.info("fine-tuned tagger %s (%d parameters) -> %s; dev %s", cfg.model, parameters, output_dir, dev_metrics)
    return FinetuneResult(Path(output_dir), result, dev_metrics, parameters)


def write_tagger(model, tokenizer, output_dir: str | Path, card: dict) -> None:
    with atomic_dir(output_dir) as tmp:
        save_model(model.cpu(), tokenizer, tmp)
        write_card(tmp, {"task": "sequence_labeling", "kind": "tagger", "domains": [],
                         "text_columns": ["text"], "window_stride": WINDOW_STRIDE} | card)
