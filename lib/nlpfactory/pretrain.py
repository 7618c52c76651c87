"""Masked-LM pretraining with whole-word masking: gives a scratch preset some Chinese (or
adapts a hub model to a domain) before fine-tuning, few-shot learning or MLM augmentation.

Words come from jieba; a chosen word has all of its tokens masked (BERT's 80/10/10 rule
per token: [MASK], a random token, or left as is). Masks are drawn afresh in every batch, so
each epoch sees new ones. The output is a Model folder with an MLM head (card kind "mlm")
that every stage accepts as its `model`: a classifier loads it with a fresh head.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
import random
import time
from collections.abc import Sequence
from pathlib import Path

import torch

from nlpfactory.atomic import atomic_dir
from nlpfactory.augment.words import choose_words, offsets_of, word_token_groups
from nlpfactory.backbones import resolve
from nlpfactory.config import to_dict
from nlpfactory.data.dataset import has_split, load_split, read_info
from nlpfactory.errors import InputError
from nlpfactory.models.backbone_vocab import backbone_tokenizer, learn_backbone_vocab
from nlpfactory.models.card import count_parameters, write_card
from nlpfactory.models.load import load_model, pinned_tokenizer, save_model
from nlpfactory.models.presets import bert_config, is_preset
from nlpfactory.stages.pretrain import PretrainConfig
from nlpfactory.tracking import NO_TRACKING, Tracker
from nlpfactory.train.batching import collate, sequential_batches
from nlpfactory.train.checkpoint import checkpoint_dir_for
from nlpfactory.train.loop import FitResult, autocast_for, device_for, fit
from nlpfactory.train.rates import rates_used, with_auto_rates

log = logging.getLogger(__name__)


@dataclasses.dataclass
class PretrainResult:
    model_dir: Path
    fit: FitResult
    metrics: dict[str, float]
    parameters: int


def pretraining_texts(cfg: PretrainConfig, dataset_dirs: Sequence[str | Path] = ()) -> list[str]:
    """Every non-empty text (and second text of a pair) of the chosen splits and corpora."""
    frames = []
    for folder in dataset_dirs:
        info = read_info(folder)
        frames += [(load_split(folder, s), info.text_columns) for s in cfg.splits if has_split(folder, s)]
    for name in cfg.corpora:
        frame = _corpus_frame(name)
        frames.append((frame, [c for c in ("text", "text_b") if c in frame]))
    texts = [str(t) for frame, columns in frames for c in columns if c in frame
             for t in frame[c].dropna() if str(t).strip()]
    if not texts:
        raise InputError("no text to pretrain on", column="corpora",
                         fix=f"give a Dataset with text in its {cfg.splits} splits, or datahub corpora")
    return texts


def _corpus_frame(name: str):
    from nlpfactory.data import datahub, pretrain_corpus

    if name == pretrain_corpus.NAME:
        import pandas as pd

        return pd.DataFrame({"text": pretrain_corpus.load_corpus()[1]})
    return datahub.load(name)[0]


def word_rows(tokenizer, texts: Sequence[str], max_length: int) -> tuple[list[dict], list[list[list[int]]]]:
    """Tokenized rows (each knows its `row` number) and each row's word token groups; texts
    with no word to mask are left out."""
    enc = offsets_of(tokenizer, texts, max_length)
    rows, groups = [], []
    for i, text in enumerate(texts):
        words = word_token_groups(text, enc["offset_mapping"][i])
        if not words:
            continue
        row = {"input_ids": enc["input_ids"][i], "row": len(rows)}
        if "token_type_ids" in enc:
            row["token_type_ids"] = enc["token_type_ids"][i]
        rows.append(row)
        groups.append(words)
    return rows, groups


def _chosen_positions(input_ids: torch.Tensor, rows: torch.Tensor, groups, ratio: float,
                      rng: random.Random) -> torch.Tensor:
    # Built on the CPU and moved once: on a GPU, setting words one by one launches a kernel
    # per word (thousands a batch), which made a step 100x slower than its compute.
    chosen = torch.zeros(input_ids.shape, dtype=torch.bool)
    for b, row in enumerate(rows.tolist()):
        for w in choose_words(groups[row], ratio, rng):
            chosen[b, groups[row][w]] = True
    return chosen


class WholeWordMasker:
    """Masks a batch in place of a data collator (the training loop collates plain rows)."""

    def __init__(self, tokenizer, groups, ratio: float):
        self.groups, self.ratio = groups, ratio
        self.mask_id = tokenizer.mask_token_id
        special = set(tokenizer.all_special_ids)
        self.replacements = torch.tensor([i for i in range(len(tokenizer)) if i not in special])

    def random_batch(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """Training masks: Python's and torch's global generators, which the loop seeds and
        restores on resume, so a resumed run draws the masks an uninterrupted one would."""
        ids = batch["input_ids"]
        chosen = _chosen_positions(ids, batch["row"], self.groups, self.ratio, random).to(ids.device)
        labels = ids.masked_fill(~chosen, -100)
        draw = torch.rand(ids.shape, device=ids.device)
        masked = ids.masked_fill(chosen & (draw < 0.8), self.mask_id)
        swap = chosen & (draw >= 0.8) & (draw < 0.9)
        picks = self.replacements.to(ids.device)[torch.randint(len(self.replacements), ids.shape, device=ids.device)]
        return torch.where(swap, picks, masked), labels

    def fixed_batch(self, batch: dict, rng: random.Random) -> tuple[torch.Tensor, torch.Tensor]:
        """Evaluation masks: whole words all [MASK], from a caller's seeded generator."""
        ids = batch["input_ids"]
        chosen = _chosen_positions(ids, batch["row"], self.groups, self.ratio, rng).to(ids.device)
        return ids.masked_fill(chosen, self.mask_id), ids.masked_fill(~chosen, -100)


def masked_logits(model, batch: dict, input_ids: torch.Tensor, labels: torch.Tensor):
    """Logits and targets of the masked positions only. For a BERT MLM the output layer runs
    on those positions alone: with a 8-20k vocabulary it costs more than the encoder when run
    on every position, and only ~15% of them have a target."""
    where = labels != -100
    inputs = dict(input_ids=input_ids, attention_mask=batch["attention_mask"],
                  token_type_ids=batch["token_type_ids"])
    if hasattr(model, "bert") and hasattr(model, "cls"):
        return model.cls(model.bert(**inputs)[0][where]), labels[where]
    return model(**inputs).logits[where], labels[where]


def _mlm_loss(model, batch: dict, input_ids: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    logits, targets = masked_logits(model, batch, input_ids, labels)
    return torch.nn.functional.cross_entropy(logits.float(), targets)


@torch.no_grad()
def mlm_scores(model, tokenizer, texts: Sequence[str], *, mask_ratio: float = 0.15, seed: int = 0,
               max_length: int = 128, batch_size: int = 64) -> dict[str, float]:
    """Masked-token loss and accuracy on `texts`, whole words masked with fixed seeded masks
    (the same texts and seed give the same masks, so two models compare fairly)."""
    rows, groups = word_rows(tokenizer, texts, max_length)
    masker = WholeWordMasker(tokenizer, groups, mask_ratio)
    rng = random.Random(seed)
    device = next(model.parameters()).device
    model.eval()
    loss_sum, correct, count = 0.0, 0, 0
    for index in sequential_batches(len(rows), batch_size):
        batch = {k: v.to(device) for k, v in collate([rows[i] for i in index], tokenizer.pad_token_id or 0).items()}
        logits, targets = masked_logits(model, batch, *masker.fixed_batch(batch, rng))
        loss_sum += torch.nn.functional.cross_entropy(logits.float(), targets, reduction="sum").item()
        correct += (logits.argmax(-1) == targets).sum().item()
        count += len(targets)
    loss = loss_sum / max(count, 1)
    return {"mlm_loss": loss, "mlm_accuracy": correct / max(count, 1),
            "mlm_perplexity": math.exp(min(loss, 50.0)), "masked_tokens": float(count)}


def _split_eval(cfg: PretrainConfig, texts: list[str]) -> tuple[list[str], list[str], str]:
    n = min(cfg.eval_rows, len(texts) // 10)
    if n == 0:
        return texts, texts, "training text"
    order = list(range(len(texts)))
    random.Random(cfg.seed).shuffle(order)
    held = set(order[:n])
    return [t for i, t in enumerate(texts) if i not in held], [texts[i] for i in sorted(held)], "held-out text"


def _batches_within(cfg: PretrainConfig, rows: list[dict], max_steps: int):
    """Epoch count and batch order that stop after `max_steps` steps (the last pass is cut)."""
    from nlpfactory.train.batching import length_grouped_batches

    lengths = [len(r["input_ids"]) for r in rows]
    per_epoch = len(length_grouped_batches(lengths, cfg.batch_size, cfg.seed))
    if not max_steps:
        return cfg.epochs, None
    budget = max_steps * cfg.grad_accum_steps
    epochs = -(-budget // per_epoch)

    def batches_for_epoch(epoch: int) -> list[list[int]]:
        order = length_grouped_batches(lengths, cfg.batch_size, seed=cfg.seed + epoch)
        return order[:budget - epoch * per_epoch] if epoch == epochs - 1 else order

    return epochs, batches_for_epoch


def start_model(cfg: PretrainConfig, texts: Sequence[str], tokenizer_dir: Path):
    """(model, tokenizer, origin): a preset gets a BERT-Chinese-layout vocabulary learned from
    `texts` (kept in `tokenizer_dir`, so a resumed run reads with the same ids); a folder or
    hub id brings its own."""
    if not is_preset(cfg.model):
        return load_model(cfg.model, "mlm", seed=cfg.seed)
    from transformers import AutoModelForMaskedLM

    tokenizer = pinned_tokenizer(tokenizer_dir, lambda: backbone_tokenizer(learn_backbone_vocab(texts, cfg.vocab_size)))
    torch.manual_seed(cfg.seed)
    return AutoModelForMaskedLM.from_config(bert_config(cfg.model, vocab_size=len(tokenizer))), tokenizer, "preset"


def _seconds_per_step(model, rows: list[dict], loss_fn, cfg: PretrainConfig, pad_id: int, probe_steps: int = 6) -> float:
    """Time a few forward+backward passes on typical batches (no update; gradients dropped)."""
    from nlpfactory.train.batching import length_grouped_batches

    batches = length_grouped_batches([len(r["input_ids"]) for r in rows], cfg.batch_size, cfg.seed + 10_000)
    device = next(model.parameters()).device
    model.train()

    autocast = autocast_for(device, cfg.precision)

    def passes(chosen: list[list[int]]) -> None:
        for index in chosen:
            batch = {k: v.to(device) for k, v in collate([rows[i] for i in index], pad_id).items()}
            with autocast:
                loss = loss_fn(model, batch)
            loss.backward()
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    # In the training's precision, after one untimed pass (on a GPU the first loads kernels):
    # timed in fp32 from the first pass, zh-base's probe read 0.34 s a step on an H200 where
    # its bf16 training ran at 0.15 s, so the warmup was sized for a quarter of the steps.
    warm, timed = (batches[:1], batches[1:probe_steps + 1]) if len(batches) > 1 else ([], batches)
    passes(warm)
    started = time.monotonic()
    passes(timed)
    model.zero_grad(set_to_none=True)
    return (time.monotonic() - started) / max(1, len(timed)) * cfg.grad_accum_steps


def _steps_for_budget(seconds_left: float, step_seconds: float, eval_seconds: float, cfg: PretrainConfig) -> int:
    """Steps that fit in the time left, counting the held-out measurements on the way; the
    optimizer step and machine noise take the 10% kept in reserve."""
    per_step = step_seconds + (eval_seconds / cfg.eval_every_steps if cfg.eval_every_steps else 0.0)
    return max(1, int(0.9 * seconds_left / per_step))


def time_schedule(warmup_steps: int, start: float, deadline: float, clock=time.monotonic):
    """Learning-rate factor that warms up over `warmup_steps` steps, then falls linearly with
    the time left to `deadline`: on a shared machine the step time drifts, so a decay planned
    in steps would end too early (budget unused) or be cut off before the rate is low."""
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        return max(0.0, (deadline - clock()) / max(deadline - start, 1e-9))
    return factor


def pretrain(cfg: PretrainConfig, output_dir: str | Path, dataset_dirs: Sequence[str | Path] = (), *,
             texts: Sequence[str] | None = None, tracker: Tracker = NO_TRACKING) -> PretrainResult:
    """Masked-LM training on the text of `dataset_dirs` and `cfg.corpora` (or on `texts`);
    writes a Model folder with an MLM head (safetensors + tokenizer + nlpfactory.json, card
    kind "mlm"). With a time budget the whole stage, measurements and saving included, is
    sized to end within it."""
    stage_started = time.monotonic()
    deadline = stage_started + 60 * cfg.time_budget_minutes if cfg.time_budget_minutes else None
    texts = list(texts) if texts is not None else pretraining_texts(cfg, dataset_dirs)
    train_texts, eval_texts, eval_on = _split_eval(cfg, texts)
    # Keyed by the text too: a checkpoint (and the vocabulary pinned in it) of the same options
    # on another corpus must not be resumed. It was, so zh-small and zh-tiny, built on the same
    # corpus, had vocabularies from different corpora (a quarter of their ids disagreed).
    text_digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    checkpoint_dir = checkpoint_dir_for("pretrain", to_dict(cfg) | {"text": text_digest}, *dataset_dirs)
    with tracker.stage_run("pretrain", to_dict(cfg)) as run:
        # Resolved once here: "auto" becomes the cached backbone (or the small preset, which then
        # learns its vocabulary like any preset), and the rate follows from what it became.
        start = resolve(cfg.model)
        cfg = with_auto_rates(dataclasses.replace(cfg, model=start), start, "the masked-LM training", run)
        model, tokenizer, origin = start_model(cfg, train_texts, checkpoint_dir / "tokenizer")
        model.to(device_for())
        score = dict(mask_ratio=cfg.mask_ratio, seed=cfg.seed, max_length=cfg.max_length)
        measured = time.monotonic()
        before = mlm_scores(model, tokenizer, eval_texts, **score)
        eval_seconds = time.monotonic() - measured
        rows, groups = word_rows(tokenizer, train_texts, cfg.max_length)
        masker = WholeWordMasker(tokenizer, groups, cfg.mask_ratio)
        pad_id = tokenizer.pad_token_id or 0

        def loss_fn(m, batch):
            return _mlm_loss(m, batch, *masker.random_batch(batch))

        curve = []

        def on_metrics(metrics: dict, step: int) -> None:
            run.log_metrics(metrics, step)
            if cfg.eval_every_steps and step % cfg.eval_every_steps == 0:
                held = mlm_scores(model, tokenizer, eval_texts, **score)
                model.train()
                curve.append({"step": step, "mlm_accuracy": round(held["mlm_accuracy"], 4),
                              "mlm_perplexity": round(held["mlm_perplexity"], 2)})
                run.log_metrics({"heldout_mlm_accuracy": held["mlm_accuracy"],
                                 "heldout_mlm_perplexity": held["mlm_perplexity"]}, step)
                log.info("step %d: held-out MLM accuracy %.4f, perplexity %.1f", step,
                         held["mlm_accuracy"], held["mlm_perplexity"])

        max_steps, train_deadline, lr_factor = cfg.max_steps, None, None
        if deadline is not None:
            # Keep back what the final measurement and the save take (the first measurement's time, twice).
            train_deadline = deadline - 2 * eval_seconds - 5
            if not max_steps:
                step_seconds = _seconds_per_step(model, rows, loss_fn, cfg, pad_id)
                planned = _steps_for_budget(train_deadline - time.monotonic(), step_seconds, eval_seconds, cfg)
                # The clock ends training; the step count is only a ceiling (the machine may speed up).
                max_steps = 4 * planned
                lr_factor = time_schedule(max(1, int(cfg.warmup_ratio * planned)), time.monotonic(), train_deadline)
                log.info("time budget %.0f min: %.2fs a step, about %d steps; the learning rate decays with the "
                         "time left", cfg.time_budget_minutes, step_seconds, planned)
        epochs, batches_for_epoch = _batches_within(cfg, rows, max_steps)
        fit_cfg = dataclasses.replace(cfg, epochs=epochs)
        started = time.time()
        result = fit(model, rows, loss_fn, fit_cfg,
                     checkpoint_dir=checkpoint_dir,
                     on_metrics=on_metrics, batches_for_epoch=batches_for_epoch,
                     pad_id=pad_id, desc="pretrain", deadline=train_deadline, lr_factor=lr_factor)
        seconds = time.time() - started
        after = mlm_scores(model, tokenizer, eval_texts, **score)
        metrics = {"mlm_loss": after["mlm_loss"], "mlm_accuracy": after["mlm_accuracy"],
                   "mlm_perplexity": after["mlm_perplexity"],
                   "mlm_loss_before": before["mlm_loss"], "mlm_accuracy_before": before["mlm_accuracy"],
                   "train_seconds": seconds, "steps": float(result.steps),
                   "seconds_per_1000_steps": 1000 * result.train_seconds / max(result.steps, 1),
                   "train_texts": float(len(rows)), "eval_texts": float(len(eval_texts))}
        parameters = count_parameters(model)
        with atomic_dir(output_dir) as tmp:
            save_model(model.cpu(), tokenizer, tmp)
            write_card(tmp, {
                "task": "masked_lm", "kind": "mlm", "labels": [], "domains": [],
                "base_model": cfg.model, "origin": origin, "parameters": parameters,
                "max_length": cfg.max_length, "text_columns": ["text"],
                "lineage": {"stage": "pretrain", "datasets": [str(d) for d in dataset_dirs],
                            "corpora": cfg.corpora, "mlflow_run_id": run.run_id,
                            "kfp_run_id": run.pipeline_run_id},
                "training": {"steps": result.steps, "planned_steps": max_steps, "seconds": round(seconds, 1),
                             **rates_used(cfg),
                             "stage_seconds": round(time.monotonic() - stage_started, 1),
                             "time_budget_minutes": cfg.time_budget_minutes,
                             "samples_per_second": round(result.samples_per_second, 1),
                             "mask_ratio": cfg.mask_ratio, "whole_word_masking": "jieba"},
                "mlm_metrics": {**{k: round(v, 4) for k, v in metrics.items()}, "measured_on": eval_on},
                "mlm_curve": curve,
            })
        run.log_metrics(metrics | {"parameters": parameters})
    log.info("pretrained %s for %d steps in %.0fs: MLM loss %.3f -> %.3f, accuracy %.3f -> %.3f on %s",
             cfg.model, result.steps, seconds, before["mlm_loss"], after["mlm_loss"],
             before["mlm_accuracy"], after["mlm_accuracy"], eval_on)
    return PretrainResult(Path(output_dir), result, metrics, parameters)
