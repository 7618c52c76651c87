"""Meta-distillation (METHODS.md §2c): a student learns from the frozen meta-teacher in two
stages, intermediate layers first (stage 1, weighted per sample by the domain-expertise
weight), then the prediction layer (stage 2, the soft labels).

Each stage is its own run of the training loop with its own epochs, learning rate and
resumable checkpoint; stage 2 keeps the epoch with the best dev score.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from torch import nn

from nlpfactory.distill.config import DistillConfig
from nlpfactory.distill.layer_map import layer_map
from nlpfactory.distill.metakd import (
    DomainBranch,
    MetaStudent,
    WithDomainBranch,
    stage1_loss,
    stage2_loss,
)
from nlpfactory.train.loop import FitResult, fit


def meta_distill(cfg: DistillConfig, teacher: WithDomainBranch, student: nn.Module, rows: list[dict], *,
                 checkpoint_dirs: tuple[str | Path, str | Path], evaluate: Callable | None = None,
                 on_metrics: Callable | None = None, pad_id: int = 0) -> dict[str, FitResult]:
    """Train `student` (a sequence classifier) in place; rows carry labels, domain_ids and
    prototype_scores. Returns the training record of each stage that ran."""
    teacher_width = teacher.classifier.config.hidden_size
    student_width = student.config.hidden_size
    domains = teacher.branch.domain_embedding.num_embeddings
    model = MetaStudent(
        WithDomainBranch(student, DomainBranch(student_width, domains, teacher.branch.dropout.p)),
        nn.Linear(student_width, teacher_width) if student_width != teacher_width else None,
    )
    pairs = layer_map(cfg.layer_map, student.config.num_hidden_layers, teacher.classifier.config.num_hidden_layers)
    done = {}
    if cfg.stage1_epochs:
        stage1 = dataclasses.replace(cfg, epochs=cfg.stage1_epochs, learning_rate=cfg.stage1_learning_rate)
        done["stage1"] = fit(
            model, rows, lambda m, batch: stage1_loss(m, teacher, batch, pairs, cfg.feature_loss_weight), stage1,
            checkpoint_dir=checkpoint_dirs[0], on_metrics=_prefixed(on_metrics, "stage1_"), pad_id=pad_id,
            desc="metakd stage 1",
        )
    if cfg.stage2_epochs:
        stage2 = dataclasses.replace(cfg, epochs=cfg.stage2_epochs, learning_rate=cfg.stage2_learning_rate)
        done["stage2"] = fit(
            student, rows, lambda m, batch: stage2_loss(m, teacher, batch, cfg.temperature, cfg.weight_prediction,
                                                        cfg.hard_label_weight), stage2,
            checkpoint_dir=checkpoint_dirs[1], evaluate=evaluate, on_metrics=_prefixed(on_metrics, "stage2_"),
            pad_id=pad_id, desc="metakd stage 2",
        )
    return done


def _prefixed(on_metrics: Callable | None, prefix: str) -> Callable | None:
    if on_metrics is None:
        return None
    return lambda metrics, step: on_metrics({prefix + k: v for k, v in metrics.items()}, step)
