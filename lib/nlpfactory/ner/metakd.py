"""MetaKD for taggers (docs/methods.md §2, carried from sentences to tokens as distill/metakd.py
states): the meta-teacher on a sequence-labeling Dataset with a domain column, and a student
per domain learning from it.

Prototype scores per token: h_ij is the last-layer state of sentence i's labelled token j (a
word's first sub-token) from the encoder as it is before fine-tuning; the prototypes are the
means of h over the tokens of domain k with tag m (`class`, the tag standing for the class)
or over all of domain k's tokens (`domain`), and
t_ij = ½·cos(h_ij, c_{k_i, y_ij}) + ½·cos(h_ij, mean_{k' ≠ k_i} c_{k', y_ij}).
They are stored per character (at each word's first character, from the first window that
holds the word), which no windowing depends on, so a student may use another max_length.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from nlpfactory.atomic import atomic_dir
from nlpfactory.config import to_dict
from nlpfactory.data.dataset import read_info, train_and_dev
from nlpfactory.distill.prototypes import prototype_scores
from nlpfactory.distill.rows import attach, domain_ids, domain_rows, training_domains
from nlpfactory.errors import InputError
from nlpfactory.models.card import count_parameters, lineage
from nlpfactory.models.labels import name_labels
from nlpfactory.ner import align
from nlpfactory.ner.inference import WINDOW_STRIDE
from nlpfactory.ner.train import dev_scorer, is_tagger, start_from_tag_prior
from nlpfactory.tracking import NO_TRACKING, Tracker
from nlpfactory.train.batching import collate, sequential_batches
from nlpfactory.train.checkpoint import checkpoint_dir_for
from nlpfactory.train.loop import device_for, fit
from nlpfactory.train.rates import rates_used, with_auto_rates

log = logging.getLogger(__name__)


def windowed_rows(tokenizer, frame: pd.DataFrame, tag_names: Sequence[str], max_length: int):
    """(rows with tag_ids, the window of each row) for a frame of text and tags."""
    index = {t: i for i, t in enumerate(tag_names)}
    ids = [[index[t] for t in sentence] for sentence in frame["tags"]]
    return align.encode(tokenizer, frame["text"].tolist(), max_length, WINDOW_STRIDE, ids)


def word_starts(texts: Sequence[str], windows: Sequence[align.Window]) -> list[list[tuple[int, int]]]:
    """Per row: (token position, character) of each labelled token, in token order."""
    out = []
    for window in windows:
        spans = align.char_words(texts[window.sentence])
        out.append([(p, spans[window.first_word + k][0]) for k, p in enumerate(window.positions) if p >= 0])
    return out


@torch.no_grad()
def labelled_token_states(model, rows: Sequence[dict], pad_id: int, batch_size: int = 64) -> np.ndarray:
    """The encoder's last-layer state of every labelled token, rows in order (float32: one
    vector per token of the training split)."""
    encoder = model.base_model
    was_training = encoder.training
    encoder.eval()
    device = next(encoder.parameters()).device
    out = []
    for index in sequential_batches(len(rows), batch_size):
        batch = collate([{k: rows[i][k] for k in ("input_ids", "token_type_ids", "tag_ids")} for i in index], pad_id)
        states = encoder(input_ids=batch["input_ids"].to(device), attention_mask=batch["attention_mask"].to(device),
                         token_type_ids=batch["token_type_ids"].to(device)).last_hidden_state.float().cpu()
        out.append(states[batch["tag_ids"] != align.IGNORE].numpy())
    encoder.train(was_training)
    return np.concatenate(out)


def token_prototype_scores(model, rows, windows, texts, row_domains, variant: str, pad_id: int) -> list[list[float]]:
    """t_ij per sentence and character (NaN where no word starts)."""
    features = labelled_token_states(model, rows, pad_id)
    token_domains = [d for row, d in zip(rows, row_domains, strict=True) for t in row["tag_ids"] if t != align.IGNORE]
    token_tags = [t for row in rows for t in row["tag_ids"] if t != align.IGNORE]
    scores = iter(prototype_scores(features, token_domains, token_tags, variant))
    per_char = [[float("nan")] * len(t) for t in texts]
    for window, starts in zip(windows, word_starts(texts, windows), strict=True):
        for _, char in starts:
            score = next(scores)
            if np.isnan(per_char[window.sentence][char]):
                per_char[window.sentence][char] = float(score)
    return per_char


def attach_token_scores(rows, windows, texts, per_char, where: str) -> None:
    """Each row's `token_prototype_scores`: its labelled tokens' character scores, 0 elsewhere."""
    for row, window, starts in zip(rows, windows, word_starts(texts, windows), strict=True):
        values = [0.0] * len(row["input_ids"])
        for position, char in starts:
            score = per_char[window.sentence][char]
            if score is None or np.isnan(score):
                raise InputError(f"sentence {window.sentence + 1} has no prototype score at character {char + 1}",
                                 file=where, line=window.sentence + 1,
                                 fix="distill on the training sentences the meta-teacher was trained on")
            values[position] = float(score)
        row["token_prototype_scores"] = values


def lookup_char_scores(teacher_dir: str | Path, frame: pd.DataFrame, where: str) -> list:
    """The meta-teacher's per-character prototype scores of each sentence, by domain and text."""
    from nlpfactory.distill.meta_teacher import SCORES_FILE

    known = pd.read_parquet(Path(teacher_dir) / SCORES_FILE).drop_duplicates(["domain", "text"])
    keys = pd.DataFrame({"domain": frame["domain"].astype(str), "text": frame["text"]})
    found = keys.merge(known, on=["domain", "text"], how="left")["prototype_score"]
    missing = np.flatnonzero(found.isna().to_numpy())
    if len(missing):
        raise InputError(f"{len(missing)} sentences have no prototype score in {Path(teacher_dir) / SCORES_FILE} "
                         f"(first: row {missing[0] + 1})", file=where, line=int(missing[0]) + 1,
                         fix="distill on the training sentences the meta-teacher was trained on")
    return [list(v) for v in found]


def train_tagger_meta_teacher(cfg, dataset_dir: str | Path, output_dir: str | Path, *,
                              tracker: Tracker = NO_TRACKING):
    """The meta_teacher stage for a sequence-labeling Dataset (cfg is a MetaTeacherConfig; the
    best epoch is picked by dev entity F1)."""
    from nlpfactory.backbones import resolve
    from nlpfactory.distill.meta_teacher import SCORES_FILE, MetaTeacherResult, save_meta_teacher
    from nlpfactory.distill.metakd import DomainBranch, WithDomainBranch, meta_teacher_loss
    from nlpfactory.models.load import load_model

    info = read_info(dataset_dir)
    train, dev = train_and_dev(dataset_dir)
    where = str(Path(dataset_dir) / "train.parquet")
    domains = training_domains(info, train, dataset_dir)
    tag_names = list(info.labels)
    with tracker.stage_run("meta_teacher", to_dict(cfg)) as run:
        model_name = resolve(cfg.model)
        cfg = with_auto_rates(cfg, model_name, "the meta-teacher", run)
        tagger, tokenizer, origin = load_model(model_name, "token_classification", num_labels=len(tag_names),
                                               seed=cfg.seed, vocab_size=cfg.vocab_size,
                                               texts=lambda: train["text"].tolist())
        name_labels(tagger, tag_names)
        pad_id = tokenizer.pad_token_id or 0
        rows, windows = windowed_rows(tokenizer, train, tag_names, cfg.max_length)
        texts = train["text"].tolist()
        sentence_domains = domain_ids(train, domains, where)
        attach(rows, "domain_ids", [sentence_domains[w.sentence] for w in windows])
        if origin == "preset":
            log.warning("the prototype scores come from the %s preset's random encoder, so they carry no domain "
                        "knowledge; start the meta-teacher from a pretrained backbone", model_name)
        per_char = token_prototype_scores(tagger.to(device_for()), rows, windows, texts,
                                          [r["domain_ids"] for r in rows], cfg.prototype, pad_id)
        attach_token_scores(rows, windows, texts, per_char, where)
        per_domain_score = {}
        for k, name in enumerate(domains):
            values = [v for row in rows if row["domain_ids"] == k
                      for v, t in zip(row["token_prototype_scores"], row["tag_ids"]) if t != align.IGNORE]
            per_domain_score[name] = float(np.mean(values)) if values else 0.0
        run.log_metrics({f"prototype_score_{d}": v for d, v in per_domain_score.items()})
        if not is_tagger(model_name):
            start_from_tag_prior(tagger, rows, len(tag_names))
        domain_mix = torch.bincount(torch.tensor([r["domain_ids"] for r in rows]), minlength=len(domains)).float()
        model = WithDomainBranch(tagger, DomainBranch(tagger.config.hidden_size, len(domains), cfg.domain_dropout))
        scorer = dev_scorer(tokenizer, dev, tag_names, cfg.max_length) if dev is not None and len(dev) else None
        started = time.time()
        result = fit(model, rows, lambda m, batch: meta_teacher_loss(m, batch, cfg.domain_loss_weight, domain_mix),
                     cfg, checkpoint_dir=checkpoint_dir_for("meta_teacher-tagger", to_dict(cfg), dataset_dir),
                     evaluate=(lambda m: scorer(m.classifier)) if scorer else None,
                     on_metrics=run.log_metrics, pad_id=pad_id, desc="meta_teacher (tags)")
        dev_metrics = scorer(model.classifier) if scorer else {}
        parameters = count_parameters(model.classifier)
        card = {
            "task": info.task, "kind": "metakd_teacher", "labels": tag_names, "domains": domains,
            "base_model": model_name, "origin": origin, "parameters": parameters, "max_length": cfg.max_length,
            "text_columns": ["text"], "window_stride": WINDOW_STRIDE, "lineage": lineage("meta_teacher", run, dataset_dir, info),
            "prototype": {"variant": cfg.prototype, "file": SCORES_FILE, "mean_score": per_domain_score,
                          "per": "character (a word's first)"},
            "training": {"best_epoch": result.best_epoch, "steps": result.steps, **rates_used(cfg),
                         "seconds": round(time.time() - started, 1)},
            "dev_metrics": dev_metrics,
        }
        with atomic_dir(output_dir) as tmp:
            save_meta_teacher(model.cpu(), tokenizer, tmp, card, domains, cfg.domain_dropout)
            pd.DataFrame({"domain": train["domain"].astype(str), "text": train["text"], "text_b": "",
                          "prototype_score": per_char}).drop_duplicates(["domain", "text"]).to_parquet(
                tmp / SCORES_FILE, index=False)
        run.log_metrics({f"final_dev_{k}": v for k, v in dev_metrics.items()} | {"parameters": parameters})
    log.info("tagging meta-teacher (%d parameters) -> %s; dev %s", parameters, output_dir, dev_metrics)
    return MetaTeacherResult(Path(output_dir), result, dev_metrics, parameters, per_domain_score)


def meta_distill_tagger(cfg, dataset_dir: str | Path, teacher_dir: str, output_dir: str | Path, *,
                        tracker: Tracker = NO_TRACKING):
    """The distill stage with method=metakd on a sequence-labeling Dataset: a student for
    `cfg.domain` (all domains when empty) learns from the tagging meta-teacher in MetaKD's two
    stages."""
    from nlpfactory.distill.meta_teacher import load_meta_teacher
    from nlpfactory.distill.metakd import meta_distill
    from nlpfactory.distill.run import DistillResult, freeze
    from nlpfactory.distill.student import build_student, started_from
    from nlpfactory.ner.train import write_tagger

    info = read_info(dataset_dir)
    tag_names = list(info.labels)
    train, dev = train_and_dev(dataset_dir)
    where = str(Path(dataset_dir) / "train.parquet")
    train = domain_rows(train, cfg.domain, dataset_dir, "train")
    dev = domain_rows(dev, cfg.domain, dataset_dir, "dev") if dev is not None else None
    task = f"distill {cfg.domain}".strip()
    with tracker.stage_run("distill", to_dict(cfg) | {"teacher": str(teacher_dir)}, task=task) as run:
        teacher, tokenizer, card = load_meta_teacher(teacher_dir)
        if card.get("task") != "sequence_labeling" or list(card["labels"]) != tag_names:
            raise InputError(f"the meta-teacher is a {card.get('task')} model over {card.get('labels')}, the Dataset "
                             f"has the tags {tag_names}", file=str(teacher_dir),
                             fix="use a meta-teacher trained on this sequence-labeling Dataset")
        freeze(teacher).to(device_for())
        student = build_student(cfg.student, cfg.student_init, teacher.classifier, tag_names, cfg.seed,
                                per_token=True, teacher_vocab=tokenizer.get_vocab())
        cfg = with_auto_rates(cfg, started_from(student, cfg.student), "the student", run)
        rows, windows = windowed_rows(tokenizer, train, tag_names, cfg.max_length)
        texts = train["text"].tolist()
        sentence_domains = domain_ids(train, card["domains"], where)
        attach(rows, "domain_ids", [sentence_domains[w.sentence] for w in windows])
        attach_token_scores(rows, windows, texts, lookup_char_scores(teacher_dir, train, where), where)
        if not cfg.student_init.startswith("teacher_layers:"):
            start_from_tag_prior(student, rows, len(tag_names))
        scorer = dev_scorer(tokenizer, dev, tag_names, cfg.max_length) if dev is not None and len(dev) else None
        checkpoints = tuple(checkpoint_dir_for(f"distill-tagger-metakd-{part}", to_dict(cfg), dataset_dir, teacher_dir)
                            for part in ("stage1", "stage2"))
        started = time.time()
        training = meta_distill(cfg, teacher, student, rows, checkpoint_dirs=checkpoints, evaluate=scorer,
                                on_metrics=run.log_metrics, pad_id=tokenizer.pad_token_id or 0)
        dev_metrics = scorer(student) if scorer else {}
        result = DistillResult(Path(output_dir), dev_metrics, count_parameters(student),
                               count_parameters(teacher.classifier), training)
        write_tagger(student, tokenizer, output_dir, {
            "base_model": cfg.student_init if cfg.student_init != "random" else cfg.student,
            "parameters": result.parameters, "labels": tag_names, "max_length": cfg.max_length,
            "domains": [cfg.domain] if cfg.domain else list(card["domains"]),
            "lineage": lineage("distill", run, dataset_dir, info, teacher=str(teacher_dir),
                               teacher_base_model=card.get("base_model")),
            "distillation": {"method": "token-level metakd", "domain": cfg.domain, "temperature": cfg.temperature,
                             **rates_used(cfg),
                             "teacher_parameters": result.teacher_parameters,
                             "stages": {name: {"best_epoch": f.best_epoch, "steps": f.steps}
                                        for name, f in training.items()},
                             "seconds": round(time.time() - started, 1)},
            "dev_metrics": dev_metrics})
        run.log_metrics({f"final_{k}": v for k, v in result.metrics().items()})
    log.info("MetaKD-distilled a tagger for %s (%d parameters) -> %s; dev %s", cfg.domain or "all domains",
             result.parameters, output_dir, dev_metrics)
    return result
