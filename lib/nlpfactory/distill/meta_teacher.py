"""The MetaKD meta-teacher stage: one teacher trained on all domains at once, weighted by
prototype scores and pushed towards domain-invariant features (docs/methods.md §2a–2b).

The Model folder it writes still loads with AutoModelForSequenceClassification (kind
"metakd_teacher"); the domain branch lives beside it in domain_branch.safetensors, and the
prototype scores of the training rows in prototype_scores.parquet, both described in
nlpfactory.json. The students need both.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from nlpfactory.atomic import atomic_dir
from nlpfactory.backbones import resolve
from nlpfactory.config import to_dict
from nlpfactory.data.dataset import label_ids, read_info, train_and_dev
from nlpfactory.distill.config import MetaTeacherConfig
from nlpfactory.distill.metakd import DomainBranch, WithDomainBranch, meta_teacher_loss
from nlpfactory.distill.prototypes import mean_token_states, prototype_scores
from nlpfactory.distill.rows import attach, domain_ids, training_domains
from nlpfactory.errors import InputError
from nlpfactory.finetune import dev_scorer, labelled_rows
from nlpfactory.models.card import count_parameters, lineage, read_card, write_card
from nlpfactory.models.labels import name_labels
from nlpfactory.models.load import load_model, save_model
from nlpfactory.tracking import NO_TRACKING, Tracker
from nlpfactory.train.checkpoint import checkpoint_dir_for
from nlpfactory.train.loop import FitResult, device_for, fit
from nlpfactory.train.rates import rates_used, with_auto_rates

log = logging.getLogger(__name__)

BRANCH_FILE = "domain_branch.safetensors"
SCORES_FILE = "prototype_scores.parquet"
KEY_COLUMNS = ("domain", "text", "text_b")


@dataclasses.dataclass
class MetaTeacherResult:
    model_dir: Path
    fit: FitResult
    dev_metrics: dict
    parameters: int
    mean_prototype_score: dict  # domain -> mean t_i


def train_meta_teacher(cfg: MetaTeacherConfig, dataset_dir: str | Path, output_dir: str | Path, *,
                       tracker: Tracker = NO_TRACKING) -> MetaTeacherResult:
    """Train the meta-teacher on every domain of the Dataset and write its Model folder."""
    info = read_info(dataset_dir)
    if info.task == "sequence_labeling":
        from nlpfactory.ner.metakd import train_tagger_meta_teacher

        return train_tagger_meta_teacher(cfg, dataset_dir, output_dir, tracker=tracker)
    train, dev = train_and_dev(dataset_dir)
    where = str(Path(dataset_dir) / "train.parquet")
    domains = training_domains(info, train, dataset_dir)

    with tracker.stage_run("meta_teacher", to_dict(cfg)) as run:
        model_name = resolve(cfg.model)
        cfg = with_auto_rates(cfg, model_name, "the meta-teacher", run)
        classifier, tokenizer, origin = load_model(
            model_name, "classification", num_labels=len(info.labels), seed=cfg.seed, vocab_size=cfg.vocab_size,
            texts=lambda: train["text"].tolist() + (train["text_b"].tolist() if info.is_pair else []),
        )
        name_labels(classifier, info.labels)
        pad_id = tokenizer.pad_token_id or 0
        rows = labelled_rows(tokenizer, train, info, cfg.max_length)
        attach(rows, "domain_ids", domain_ids(train, domains, where))
        # Prototypes come from the encoder as it is before fine-tuning (docs/methods.md §2a).
        if origin == "preset":
            log.warning("the prototype scores come from the %s preset's random encoder, so they carry no domain "
                        "knowledge and the instance weighting does next to nothing; start the meta-teacher from a "
                        "pretrained backbone (model=auto after `nlpfactory models build zh-small`)", model_name)
        features = mean_token_states(classifier.to(device_for()), rows, pad_id=pad_id, max_length=cfg.max_length,
                                     include_padding=cfg.prototype == "domain")
        scores = prototype_scores(features, [r["domain_ids"] for r in rows], label_ids(train, info), cfg.prototype)
        attach(rows, "prototype_scores", scores.tolist())
        per_domain_score = {d: float(scores[train["domain"].to_numpy() == d].mean()) for d in domains}
        run.log_metrics({f"prototype_score_{d}": v for d, v in per_domain_score.items()})

        domain_mix = torch.bincount(torch.tensor([r["domain_ids"] for r in rows]), minlength=len(domains)).float()
        model = WithDomainBranch(classifier, DomainBranch(classifier.config.hidden_size, len(domains), cfg.domain_dropout))
        scorer = dev_scorer(labelled_rows(tokenizer, dev, info, cfg.max_length), info.labels, cfg.metric,
                            pad_id) if dev is not None and len(dev) else None
        started = time.time()
        result = fit(
            model, rows, lambda m, batch: meta_teacher_loss(m, batch, cfg.domain_loss_weight, domain_mix), cfg,
            checkpoint_dir=checkpoint_dir_for("meta_teacher", to_dict(cfg), dataset_dir),
            evaluate=(lambda m: scorer(m.classifier)) if scorer else None,
            on_metrics=run.log_metrics, pad_id=pad_id, desc="meta_teacher",
        )
        dev_metrics = scorer(model.classifier) if scorer else {}
        parameters = count_parameters(model.classifier)
        card = {
            "task": info.task, "kind": "metakd_teacher", "labels": info.labels, "domains": domains,
            "base_model": model_name, "origin": origin, "parameters": parameters,
            "max_length": cfg.max_length, "text_columns": info.text_columns,
            "lineage": lineage("meta_teacher", run, dataset_dir, info),
            "prototype": {"variant": cfg.prototype, "file": SCORES_FILE, "mean_score": per_domain_score},
            "training": {"best_epoch": result.best_epoch, "steps": result.steps, **rates_used(cfg),
                         "seconds": round(time.time() - started, 1)},
            "dev_metrics": dev_metrics,
        }
        with atomic_dir(output_dir) as tmp:
            save_meta_teacher(model.cpu(), tokenizer, tmp, card, domains, cfg.domain_dropout)
            _scores_frame(train, info.is_pair, scores).to_parquet(tmp / SCORES_FILE, index=False)
        run.log_metrics({f"final_dev_{k}": v for k, v in dev_metrics.items()} | {"parameters": parameters})
        run.log_text(_report(cfg, domains, per_domain_score, dev_metrics, parameters), "report.md")
    log.info("meta-teacher (%d parameters) -> %s; dev %s", parameters, output_dir, dev_metrics)
    return MetaTeacherResult(Path(output_dir), result, dev_metrics, parameters, per_domain_score)


def _scores_frame(train: pd.DataFrame, is_pair: bool, scores: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame({"domain": train["domain"].astype(str), "text": train["text"],
                          "text_b": train["text_b"] if is_pair else "", "prototype_score": scores})
    return frame.drop_duplicates(list(KEY_COLUMNS)).reset_index(drop=True)


def _report(cfg, domains, per_domain_score, dev_metrics, parameters) -> str:
    lines = [f"# MetaKD meta-teacher ({cfg.model}, {parameters:,} parameters)", "",
             f"Prototype scores: {cfg.prototype} variant. Domain-loss weight γ1 = {cfg.domain_loss_weight}.", "",
             "| domain | mean prototype score |", "|---|---|"]
    lines += [f"| {d} | {per_domain_score[d]:.4f} |" for d in domains]
    if dev_metrics:
        lines += ["", f"Dev accuracy **{dev_metrics['accuracy']:.4f}**, macro-F1 {dev_metrics['macro_f1']:.4f}."]
    return "\n".join(lines) + "\n"


def save_meta_teacher(model: WithDomainBranch, tokenizer, folder: str | Path, card: dict,
                      domains: list[str], dropout: float) -> None:
    from safetensors.torch import save_file

    save_model(model.classifier, tokenizer, folder)
    save_file({k: v.contiguous() for k, v in model.branch.state_dict().items()}, str(Path(folder) / BRANCH_FILE))
    card["domain_branch"] = {
        "file": BRANCH_FILE, "domains": domains, "hidden_size": model.classifier.config.hidden_size,
        "dropout": dropout,
        "about": "r = feature(domain_embedding[domain] + mean of last-layer token states); "
                 "domain logits = domain_classifier(dropout(tanh(r)))",
    }
    write_card(folder, card)


def load_meta_teacher(folder: str | Path):
    """(WithDomainBranch, tokenizer, card) from a folder written by train_meta_teacher."""
    from safetensors.torch import load_file

    card = read_card(folder)
    if card.get("kind") != "metakd_teacher":
        raise InputError(f"MetaKD needs a meta-teacher, and this Model is a {card.get('kind')!r}",
                         file=str(Path(folder) / "nlpfactory.json"), column="kind",
                         fix="train the teacher with the meta_teacher stage, or use method=vanilla")
    head = "token_classification" if card.get("task") == "sequence_labeling" else "classification"
    classifier, tokenizer, _ = load_model(str(folder), head)
    spec = card["domain_branch"]
    branch = DomainBranch(spec["hidden_size"], len(spec["domains"]), spec.get("dropout", 0.1))
    branch.load_state_dict(load_file(str(Path(folder) / spec["file"])))
    return WithDomainBranch(classifier, branch), tokenizer, card


def lookup_prototype_scores(teacher_dir: str | Path, frame: pd.DataFrame, is_pair: bool, where: str) -> list[float]:
    """The meta-teacher's prototype score of each row of `frame`, matched by domain and text."""
    path = Path(teacher_dir) / SCORES_FILE
    known = pd.read_parquet(path)
    keys = pd.DataFrame({"domain": frame["domain"].astype(str), "text": frame["text"],
                         "text_b": frame["text_b"] if is_pair else ""})
    found = keys.merge(known, on=list(KEY_COLUMNS), how="left")["prototype_score"]
    if found.isna().any():
        line = int(np.flatnonzero(found.isna().to_numpy())[0]) + 1
        raise InputError(f"{int(found.isna().sum())} rows have no prototype score in {path} (first: row {line})",
                         file=where, line=line, fix="distill on the training rows the meta-teacher was trained on")
    return found.astype(float).tolist()
