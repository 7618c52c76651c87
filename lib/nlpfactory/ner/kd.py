"""Token-level knowledge distillation for taggers: the student matches the teacher's tag
distribution at every labelled token (the first sub-token of each word; padding, [CLS],
[SEP] and continuation sub-tokens are masked), mixed with cross-entropy on the true tags.

The student reads the teacher's tokens (a preset built with the teacher's vocabulary, or
the teacher's own layers), so the teacher is run on the same batch and no soft labels need
storing. Per-domain MetaKD for taggers is in ner/metakd.py.

Sentences without tags (a transfer set) can be added: on them the student learns the
teacher's tags alone. On the labelled sentences only, the soft labels are the teacher's view
of text whose gold tags the student already has: at 6,000 MSRA sentences the distilled
student tied the student alone (bench/ner.py); text the teacher alone can tag is what KD adds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F

from nlpfactory.config import to_dict
from nlpfactory.data.dataset import read_info, train_and_dev
from nlpfactory.distill.losses import kl_divergence
from nlpfactory.distill.rows import domain_rows
from nlpfactory.distill.student import build_student, started_from
from nlpfactory.distill.transfer import transfer_key, transfer_sentences
from nlpfactory.errors import InputError
from nlpfactory.models.card import count_parameters, read_card
from nlpfactory.models.load import load_model
from nlpfactory.ner import align
from nlpfactory.ner.align import IGNORE
from nlpfactory.ner.inference import WINDOW_STRIDE
from nlpfactory.ner.train import (
    MODEL_INPUTS,
    dev_scorer,
    start_from_tag_prior,
    tag_rows,
    write_tagger,
)
from nlpfactory.tracking import NO_TRACKING, Tracker
from nlpfactory.train.checkpoint import checkpoint_dir_for
from nlpfactory.train.loop import device_for, fit
from nlpfactory.train.rates import rates_used, with_auto_rates

log = logging.getLogger(__name__)


UNTAGGED = -1  # a word's first token in a transfer sentence: the teacher's tags only


def token_kd_loss(student_logits, teacher_logits, tag_ids, temperature: float, alpha: float) -> torch.Tensor:
    """alpha · T²·KL(teacher ‖ student) averaged over every word's first token, + (1 - alpha) ·
    CE(true tags) averaged over the tagged ones (none in a batch of transfer sentences)."""
    words, tagged = tag_ids != IGNORE, tag_ids >= 0
    soft = kl_divergence(student_logits[words], teacher_logits[words], temperature, reduction="mean")
    if not tagged.any():
        return alpha * soft
    hard = F.cross_entropy(student_logits[tagged].float(), tag_ids[tagged])
    return alpha * soft + (1 - alpha) * hard


def untagged_rows(tokenizer, texts: Sequence[str], max_length: int) -> list[dict]:
    """Rows of sentences without tags, cut into windows like tagged ones, each word's first
    token marked UNTAGGED."""
    rows, _ = align.encode(tokenizer, texts, max_length, WINDOW_STRIDE, [[0] * len(t) for t in texts])
    for row in rows:
        row["tag_ids"] = [IGNORE if t == IGNORE else UNTAGGED for t in row["tag_ids"]]
    return rows


def distill_tagger(cfg, dataset_dir: str | Path, teacher_dir: str, output_dir: str | Path, *,
                   tracker: Tracker = NO_TRACKING):
    """The distill stage for a sequence-labeling Dataset (cfg is a DistillConfig), on
    `cfg.domain`'s sentences when it names one, and on `cfg.transfer_source`'s besides."""
    from nlpfactory.distill.run import DistillResult, freeze

    if cfg.method == "metakd":
        from nlpfactory.ner.metakd import meta_distill_tagger

        return meta_distill_tagger(cfg, dataset_dir, teacher_dir, output_dir, tracker=tracker)
    info = read_info(dataset_dir)
    tag_names = list(info.labels)
    train, dev = train_and_dev(dataset_dir)
    train = domain_rows(train, cfg.domain, dataset_dir, "train")
    dev = domain_rows(dev, cfg.domain, dataset_dir, "dev") if dev is not None else None
    teacher_card = read_card(teacher_dir)
    if teacher_card.get("kind") != "tagger" or list(teacher_card["labels"]) != tag_names:
        raise InputError(f"the teacher is a {teacher_card.get('kind')} over {teacher_card.get('labels')}, the "
                         f"Dataset has the tags {tag_names}", file=str(teacher_dir),
                         fix="use a teacher fine-tuned on this Dataset (finetune with its sequence-labeling Dataset)")
    transfer_texts = transfer_sentences(cfg.transfer_source, dataset_dir, cfg.transfer_rows, cfg.seed, cfg.domain) \
        if cfg.transfer_source else []
    with tracker.stage_run("distill", to_dict(cfg) | {"teacher": str(teacher_dir),
                                                      "transfer_sentences": len(transfer_texts)}, task="distill") as run:
        teacher, tokenizer, _ = load_model(str(teacher_dir), "token_classification")
        freeze(teacher).to(device_for())
        student = build_student(cfg.student, cfg.student_init, teacher, tag_names, cfg.seed, per_token=True,
                                teacher_vocab=tokenizer.get_vocab())
        cfg = with_auto_rates(cfg, started_from(student, cfg.student), "the student", run)
        rows = tag_rows(tokenizer, train["text"].tolist(), train["tags"], tag_names, cfg.max_length)
        if not cfg.student_init.startswith("teacher_layers:"):  # those students keep the teacher's head
            start_from_tag_prior(student, rows, len(tag_names))
        rows += untagged_rows(tokenizer, transfer_texts, cfg.max_length)
        scorer = dev_scorer(tokenizer, dev, tag_names, cfg.max_length) if dev is not None and len(dev) else None

        def loss(model, batch):
            inputs = {k: batch[k] for k in MODEL_INPUTS}
            with torch.no_grad():
                teacher_logits = teacher(**inputs).logits
            return token_kd_loss(model(**inputs).logits, teacher_logits, batch["tag_ids"], cfg.temperature, cfg.alpha)

        started = time.time()
        training = fit(student, rows, loss, cfg, evaluate=scorer, on_metrics=run.log_metrics,
                       checkpoint_dir=checkpoint_dir_for("distill-tagger", to_dict(cfg) | {"transfer": transfer_key(transfer_texts)},
                                                         dataset_dir, teacher_dir),
                       pad_id=tokenizer.pad_token_id or 0, desc="token kd")
        dev_metrics = scorer(student) if scorer else {}
        result = DistillResult(Path(output_dir), dev_metrics, count_parameters(student),
                               count_parameters(teacher), {"vanilla": training})
        write_tagger(student, tokenizer, output_dir, {
            "base_model": cfg.student_init if cfg.student_init != "random" else cfg.student,
            "parameters": result.parameters, "labels": tag_names, "max_length": cfg.max_length,
            "domains": [cfg.domain] if cfg.domain else list(info.domains),
            "lineage": {"stage": "distill", "teacher": str(teacher_dir),
                        "teacher_base_model": teacher_card.get("base_model"), "dataset": str(dataset_dir),
                        "dataset_source": info.source, "mlflow_run_id": run.run_id, "kfp_run_id": run.pipeline_run_id},
            "distillation": {"method": "token-level vanilla", "domain": cfg.domain,
                             "temperature": cfg.temperature, "alpha": cfg.alpha, **rates_used(cfg),
                             "transfer_sentences": len(transfer_texts),
                             "teacher_parameters": result.teacher_parameters, "best_epoch": training.best_epoch,
                             "steps": training.steps, "seconds": round(time.time() - started, 1)},
            "dev_metrics": dev_metrics})
        run.log_metrics({f"final_{k}": v for k, v in result.metrics().items()})
    log.info("distilled a tagger (%d parameters, %.1f%% of the teacher) -> %s; dev %s", result.parameters,
             100 * result.parameters / result.teacher_parameters, output_dir, dev_metrics)
    return result
