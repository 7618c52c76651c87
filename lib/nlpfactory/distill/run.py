"""The distill stage: a small student learns from a frozen teacher (vanilla KD or MetaKD),
optionally on one domain's rows and (vanilla KD) on transfer texts without labels, and is
written as a plain classifier Model folder.

The saved student loads with AutoModelForSequenceClassification and the teacher's
tokenizer; training-only parts (projections, the student's domain branch) are not saved.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path

from torch import nn

from nlpfactory.atomic import atomic_dir
from nlpfactory.config import to_dict
from nlpfactory.data.dataset import DatasetInfo, read_info, train_and_dev
from nlpfactory.distill.config import DistillConfig
from nlpfactory.distill.features import attention_matched, layer_map
from nlpfactory.distill.meta_teacher import load_meta_teacher, lookup_prototype_scores
from nlpfactory.distill.metakd import meta_distill
from nlpfactory.distill.rows import attach, domain_ids, domain_rows, stored_logits
from nlpfactory.distill.student import build_student, started_from
from nlpfactory.distill.transfer import transfer_key, transfer_sentences
from nlpfactory.distill.vanilla import UNLABELLED, VanillaStudent, vanilla_loss
from nlpfactory.errors import ConfigError
from nlpfactory.finetune import dev_scorer, labelled_rows, predict_rows
from nlpfactory.models.card import count_parameters, lineage, read_card, write_card
from nlpfactory.models.labels import check_labels_match
from nlpfactory.models.load import load_model, save_model
from nlpfactory.models.presets import is_preset
from nlpfactory.tracking import NO_TRACKING, Tracker
from nlpfactory.train.batching import encode
from nlpfactory.train.checkpoint import checkpoint_dir_for
from nlpfactory.train.loop import device_for, fit
from nlpfactory.train.rates import rates_used, with_auto_rates

log = logging.getLogger(__name__)


@dataclasses.dataclass
class DistillResult:
    model_dir: Path
    dev_metrics: dict
    parameters: int
    teacher_parameters: int
    training: dict  # stage name -> FitResult

    def metrics(self) -> dict[str, float]:
        out = {f"dev_{k}": v for k, v in self.dev_metrics.items() if k != "score"}
        return out | {"parameters": self.parameters, "teacher_parameters": self.teacher_parameters,
                      "parameter_ratio": self.parameters / self.teacher_parameters}


def freeze(teacher: nn.Module) -> nn.Module:
    """The teacher only answers: eval mode (no dropout) and no gradients."""
    teacher.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher


def load_teacher(teacher: str, method: str, info: DatasetInfo, train_texts):
    """(teacher, tokenizer, card): a meta-teacher for metakd, any classifier for vanilla."""
    if method == "metakd":
        return load_meta_teacher(teacher)
    if is_preset(teacher):
        model, tokenizer, _ = load_model(teacher, num_labels=len(info.labels), texts=train_texts)
        return model, tokenizer, {"labels": info.labels, "base_model": teacher}
    model, tokenizer, _ = load_model(teacher)
    card_path = Path(teacher) / "nlpfactory.json"
    card = read_card(teacher) if card_path.is_file() else {"base_model": teacher}
    labels = card.get("labels") or [model.config.id2label[i] for i in range(model.config.num_labels)]
    check_labels_match(labels, info.labels, model=str(card_path), role="teacher")
    return model, tokenizer, card


def distill(cfg: DistillConfig, dataset_dir: str | Path, teacher_dir: str, output_dir: str | Path, *,
            tracker: Tracker = NO_TRACKING) -> DistillResult:
    info = read_info(dataset_dir)
    if info.task == "sequence_labeling":
        from nlpfactory.ner.kd import distill_tagger

        return distill_tagger(cfg, dataset_dir, teacher_dir, output_dir, tracker=tracker)
    if cfg.transfer_source and info.is_pair:
        raise ConfigError(f"transfer_source is set, but {dataset_dir} is a sentence-pair Dataset, and transfer texts "
                          "are single sentences", option="transfer_source",
                          fix="leave transfer_source empty (the landing recipe's augmentation adds sentence pairs)")
    where = str(Path(dataset_dir) / "train.parquet")
    train, dev = train_and_dev(dataset_dir)
    train = domain_rows(train, cfg.domain, dataset_dir, "train")
    dev = domain_rows(dev, cfg.domain, dataset_dir, "dev") if dev is not None else None
    transfer_texts = transfer_sentences(cfg.transfer_source, dataset_dir, cfg.transfer_rows, cfg.seed, cfg.domain) \
        if cfg.transfer_source else []
    task = f"distill {cfg.domain}".strip()
    with tracker.stage_run("distill", to_dict(cfg) | {"teacher": str(teacher_dir), "transfer_sentences": len(transfer_texts)},
                           task=task) as run:
        teacher, tokenizer, teacher_card = load_teacher(teacher_dir, cfg.method, info, lambda: train["text"].tolist())
        freeze(teacher).to(device_for())
        classifier = teacher.classifier if cfg.method == "metakd" else teacher
        student = build_student(cfg.student, cfg.student_init, classifier, info.labels, cfg.seed,
                                teacher_vocab=tokenizer.get_vocab())
        cfg = with_auto_rates(cfg, started_from(student, cfg.student), "the student", run)
        attention = _attention_note(student, classifier) if cfg.method == "metakd" or cfg.intermediate else None
        pad_id = tokenizer.pad_token_id or 0
        rows = labelled_rows(tokenizer, train, info, cfg.max_length)
        transfer = attach(encode(tokenizer, transfer_texts, None, cfg.max_length), "labels",
                          [UNLABELLED] * len(transfer_texts)) if transfer_texts else []
        scorer = dev_scorer(labelled_rows(tokenizer, dev, info, cfg.max_length), info.labels, cfg.metric,
                            pad_id) if dev is not None and len(dev) else None
        checkpoints = [checkpoint_dir_for(f"distill-{cfg.method}-{part}", to_dict(cfg) | {"transfer": transfer_key(transfer_texts)},
                                          dataset_dir, teacher_dir)
                       for part in ("stage1", "stage2")]
        started = time.time()
        if cfg.method == "metakd":
            attach(rows, "domain_ids", domain_ids(train, teacher_card["domains"], where))
            attach(rows, "prototype_scores", lookup_prototype_scores(teacher_dir, train, info.is_pair, where))
            training = meta_distill(cfg, teacher, student, rows, checkpoint_dirs=checkpoints, evaluate=scorer,
                                    on_metrics=run.log_metrics, pad_id=pad_id)
        else:
            training = {"vanilla": _vanilla(cfg, teacher, student, rows, transfer, train, info, where, scorer,
                                            checkpoints[0], run.log_metrics, pad_id)}
        dev_metrics = scorer(student) if scorer else {}
        result = DistillResult(Path(output_dir), dev_metrics, count_parameters(student),
                               count_parameters(classifier), training)
        with atomic_dir(output_dir) as tmp:
            save_model(student.cpu(), tokenizer, tmp)
            card = _card(cfg, info, dataset_dir, teacher_dir, teacher_card, result, run,
                         round(time.time() - started, 1), len(transfer))
            if attention:
                card["distillation"]["attention"] = attention
            if cfg.student_init == "random":  # say which backbone (or preset) "auto" became
                card["base_model"] = started_from(student, cfg.student)
            write_card(tmp, card)
        run.log_metrics({f"final_{k}": v for k, v in result.metrics().items()})
        run.log_text(_report(cfg, teacher_dir, result), "report.md")
    log.info("distilled %s (%d parameters, %.1f%% of the teacher) -> %s; dev %s", cfg.method, result.parameters,
             100 * result.parameters / result.teacher_parameters, output_dir, dev_metrics)
    return result


def _attention_note(student, teacher) -> str:
    if attention_matched(student, teacher):
        return "matched head for head"
    note = (f"left out: the student has {student.config.num_attention_heads} attention heads, the teacher "
            f"{teacher.config.num_attention_heads}, so no head has a partner")
    log.warning("layer-by-layer distillation: attention %s; hidden states are still matched", note)
    return note


def _vanilla(cfg, teacher, student, rows, transfer, train, info, where, scorer, checkpoint_dir, on_metrics, pad_id):
    logits = stored_logits(train, len(info.labels), where) if cfg.use_stored_logits else None
    if logits is not None:  # a batch carries the teacher's logits for every row or for none
        attach(rows, "teacher_logits", logits)
        if transfer:
            attach(transfer, "teacher_logits", predict_rows(teacher, transfer, pad_id=pad_id).tolist())
    rows = rows + transfer
    pairs, projection = None, None
    if cfg.intermediate:
        pairs = layer_map(cfg.layer_map, student.config.num_hidden_layers, teacher.config.num_hidden_layers)
        if student.config.hidden_size != teacher.config.hidden_size:
            projection = nn.Linear(student.config.hidden_size, teacher.config.hidden_size)
    model = VanillaStudent(student, projection)
    return fit(model, rows, lambda m, batch: vanilla_loss(m, teacher, batch, cfg.temperature, cfg.alpha, pairs, cfg.soft_loss),
               cfg, checkpoint_dir=checkpoint_dir, evaluate=(lambda m: scorer(m.student)) if scorer else None,
               on_metrics=on_metrics, pad_id=pad_id, desc="vanilla kd")


def _card(cfg, info, dataset_dir, teacher_dir, teacher_card, result, run, seconds, transfer_count) -> dict:
    return {
        "task": info.task, "kind": "classifier", "labels": info.labels,
        "domains": [cfg.domain] if cfg.domain else info.domains,
        "base_model": cfg.student_init if cfg.student_init != "random" else cfg.student,
        "parameters": result.parameters, "max_length": cfg.max_length, "text_columns": info.text_columns,
        "lineage": lineage("distill", run, dataset_dir, info, teacher=str(teacher_dir),
                           teacher_base_model=teacher_card.get("base_model")),
        "distillation": {"method": cfg.method, "domain": cfg.domain, "temperature": cfg.temperature, **rates_used(cfg),
                         "transfer_sentences": transfer_count,
                         "teacher_parameters": result.teacher_parameters,
                         "stages": {name: {"best_epoch": f.best_epoch, "steps": f.steps} for name, f in result.training.items()},
                         "seconds": seconds},
        "dev_metrics": result.dev_metrics,
    }


def _report(cfg, teacher_dir, result: DistillResult) -> str:
    lines = [f"# Distillation ({cfg.method}{', domain ' + cfg.domain if cfg.domain else ''})", "",
             f"Teacher `{teacher_dir}`: {result.teacher_parameters:,} parameters. "
             f"Student: {result.parameters:,} parameters ({result.parameters / result.teacher_parameters:.1%} of the teacher).", ""]
    if result.dev_metrics:
        lines.append(f"Student dev accuracy **{result.dev_metrics['accuracy']:.4f}**, macro-F1 {result.dev_metrics['macro_f1']:.4f}.")
    for name, f in result.training.items():
        lines.append(f"- {name}: {f.steps} steps, best epoch {f.best_epoch}")
    return "\n".join(lines) + "\n"

