"""MetaKD (docs/methods.md §2): the domain branch, the meta-teacher's objective, the
domain-expertise weight, the per-sample losses of the two meta-distillation stages, and the
two-stage training of a student (`meta_distill`: intermediate layers first, weighted per
sample by the domain-expertise weight, then the prediction layer; each stage is its own run of
the training loop with its own epochs, learning rate and resumable checkpoint, and stage 2
keeps the epoch with the best dev score).

The same `WithDomainBranch` module serves the meta-teacher and the student: a sequence
classifier plus a domain branch on its last layer, r = W_r·(E_dom[k] + meanpool(H^L)) + b,
g = W_d·dropout(tanh(r)).

Taggers (rows with `tag_ids`): MetaKD is defined per sentence; for tags it is carried to the
tokens, each labelled token standing where the paper has a sample. A token's prototype score
t_ij and domain-expertise weight λ_ij are its own (prototypes per domain and tag, built from
token states; see ner/metakd.py), the task loss and the stage-2 soft loss are weighted per
token, and what only a sentence has (the domain branch's loss, the stage-1 layer and feature
losses) takes the mean of its labelled tokens' weights.

Approximation, stated: the paper writes the task head as W_c·ReLU(pooler([CLS])). We keep
BERT's own classification head (W_c·dropout(pooler([CLS])), no ReLU) so the meta-teacher
and its students load with AutoModelForSequenceClassification as they are.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from nlpfactory.distill.config import DistillConfig
from nlpfactory.distill.features import (
    encoder_inputs,
    intermediate_loss,
    layer_map,
    run_with_internals,
)
from nlpfactory.distill.losses import LOSSES, feature_mse, hard_cross_entropy, weighted_mean
from nlpfactory.ner.align import IGNORE
from nlpfactory.train.loop import FitResult, fit


class DomainBranch(nn.Module):
    def __init__(self, hidden_size: int, num_domains: int, dropout: float = 0.1):
        super().__init__()
        self.domain_embedding = nn.Embedding(num_domains, hidden_size)  # E_dom
        self.feature = nn.Linear(hidden_size, hidden_size)  # W_r and b
        self.dropout = nn.Dropout(dropout)
        self.domain_classifier = nn.Linear(hidden_size, num_domains)  # W_d
        nn.init.normal_(self.domain_embedding.weight, std=0.02)

    def forward(self, mean_states: torch.Tensor, domain_ids: torch.Tensor):
        """(r, g): the pre-tanh domain features and the K domain logits."""
        features = self.feature(self.domain_embedding(domain_ids) + mean_states)
        return features, self.domain_classifier(self.dropout(torch.tanh(features)))


class WithDomainBranch(nn.Module):
    """A sequence classifier and its domain branch, trained together."""

    def __init__(self, classifier: nn.Module, branch: DomainBranch):
        super().__init__()
        self.classifier = classifier
        self.branch = branch

    def forward(self, batch: dict):
        inside = run_with_internals(self.classifier, batch)
        features, domain_logits = self.branch(inside.mean_last(), batch["domain_ids"])
        return inside, features, domain_logits


def corrupted_domains(count: int, domain_mix: torch.Tensor) -> torch.Tensor:
    """Domain labels drawn afresh for every row from the training set's domain mix,
    independently of the row's own domain. (Permuting the batch's own labels would keep much
    of the true domain: batches are length-grouped, so a batch is often mostly one domain.)"""
    return torch.multinomial(domain_mix, count, replacement=True)


def meta_teacher_loss(model: WithDomainBranch, batch: dict, domain_loss_weight: float = 0.5,
                      domain_mix: torch.Tensor | None = None) -> torch.Tensor:
    """mean_i t_i·[CE(z_i, y_i) + γ1·CE(g_i, corrupted k_i)].

    The corrupted domain labels are drawn from `domain_mix` (the share of each domain in the
    training set; uniform when not given), so the domain classifier cannot learn which domain
    a row is from and the features are pushed towards what the domains share.
    """
    inside, _, domain_logits = model(batch)
    if domain_mix is None:
        domain_mix = torch.ones(domain_logits.shape[-1])
    corrupted = corrupted_domains(len(batch["domain_ids"]), domain_mix.float()).to(domain_logits.device)
    domain_loss = domain_loss_weight * F.cross_entropy(domain_logits.float(), corrupted, reduction="none")
    if "tag_ids" in batch:  # Σ_ij t_ij·CE(z_ij, y_ij) / #tokens + mean_i t̄_i·γ1·CE(g_i, corrupted k_i)
        labelled = batch["tag_ids"] != IGNORE
        scores = batch["token_prototype_scores"]
        tags = hard_cross_entropy(inside.logits[labelled], batch["tag_ids"][labelled], reduction="none")
        return weighted_mean(tags, scores[labelled]) + weighted_mean(domain_loss, sentence_mean(scores, labelled))
    per_sample = hard_cross_entropy(inside.logits, batch["labels"], reduction="none") + domain_loss
    return weighted_mean(per_sample, batch["prototype_scores"])


def sentence_mean(per_token: torch.Tensor, labelled: torch.Tensor) -> torch.Tensor:
    """Each row's mean of a per-token value over its labelled tokens (0 for a row with none)."""
    keep = labelled.to(per_token.dtype)
    return (per_token * keep).sum(1) / keep.sum(1).clamp(min=1)


def domain_expertise_weight(prototype_scores: torch.Tensor, gold_probability: torch.Tensor) -> torch.Tensor:
    """λ_i = (1 + t_i) / (exp((1 − p_T(y_i))²) + 1): trust the teacher less where it is wrong."""
    return (1 + prototype_scores) / (torch.exp((1 - gold_probability) ** 2) + 1)


class MetaStudent(nn.Module):
    """What meta-distillation trains: the student with its domain branch, and W_h (student
    width -> teacher width) when the widths differ. Only `student.classifier` is saved."""

    def __init__(self, student: WithDomainBranch, projection: nn.Module | None):
        super().__init__()
        self.student = student
        self.projection = projection


@torch.no_grad()
def teacher_view(teacher: WithDomainBranch, batch: dict):
    """The frozen meta-teacher's outputs and each sample's domain-expertise weight (for a
    tagger, each token's: [rows, tokens], 0 where a token has no tag)."""
    inside, features, _ = teacher(batch)
    probabilities = F.softmax(inside.logits.float(), -1)
    if "tag_ids" in batch:
        labelled = batch["tag_ids"] != IGNORE
        gold = probabilities.gather(2, batch["tag_ids"].clamp(min=0)[..., None]).squeeze(-1)
        weights = domain_expertise_weight(batch["token_prototype_scores"], gold)
        return inside, features, weights * labelled.to(weights.dtype)
    gold = probabilities.gather(1, batch["labels"][:, None]).squeeze(1)
    return inside, features, domain_expertise_weight(batch["prototype_scores"], gold)


def stage1_loss(model: MetaStudent, teacher: WithDomainBranch, batch: dict, layer_pairs: dict[int, int],
                feature_loss_weight: float = 0.5) -> torch.Tensor:
    """L_1 = mean_i λ_i·(Σ_m hidden MSE_i + Σ_m attention MSE_i + γ2·MSE_i(W_h r^S, r^T))."""
    t_inside, t_features, weights = teacher_view(teacher, batch)
    if "tag_ids" in batch:
        weights = sentence_mean(weights, batch["tag_ids"] != IGNORE)
    s_inside, s_features, _ = model.student(batch)
    per_sample = intermediate_loss(model.student.classifier, s_inside, teacher.classifier, t_inside,
                                   layer_pairs, model.projection)
    per_sample = per_sample + feature_loss_weight * feature_mse(s_features, t_features, model.projection, reduction="none")
    return weighted_mean(per_sample, weights)


def stage2_loss(student, teacher: WithDomainBranch, batch: dict, temperature: float = 2.0,
                weight_prediction: bool = False, hard_label_weight: float = 0.0, soft_loss: str = "kl") -> torch.Tensor:
    """L_2 = mean_i w_i·T²·KL(teacher ‖ student) (+ weight·CE on the true labels); w_i = λ_i
    with weight_prediction, else 1. `student` is the student's classifier alone."""
    t_inside, _, weights = teacher_view(teacher, batch)
    logits, teacher_logits, labels = student(**encoder_inputs(batch)).logits, t_inside.logits, batch.get("labels")
    if "tag_ids" in batch:  # the labelled tokens are the samples
        labelled = batch["tag_ids"] != IGNORE
        logits, teacher_logits, weights, labels = (logits[labelled], teacher_logits[labelled], weights[labelled],
                                                   batch["tag_ids"][labelled])
    soft = LOSSES[soft_loss](logits, teacher_logits, temperature, reduction="none")
    loss = weighted_mean(soft, weights if weight_prediction else torch.ones_like(soft))
    if hard_label_weight:
        loss = loss + hard_label_weight * hard_cross_entropy(logits, labels)
    return loss


def meta_distill(cfg: DistillConfig, teacher: WithDomainBranch, student: nn.Module, rows: list[dict], *,
                 checkpoint_dirs: tuple[str | Path, str | Path], evaluate: Callable | None = None,
                 on_metrics: Callable | None = None, pad_id: int = 0) -> dict[str, FitResult]:
    """Train `student` (a sequence classifier, or a token classifier) in place; rows carry
    labels, domain_ids and prototype_scores (a tagger's: tag_ids, domain_ids and
    token_prototype_scores). Returns the training record of each stage that ran."""
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
                                                        cfg.hard_label_weight, cfg.soft_loss), stage2,
            checkpoint_dir=checkpoint_dirs[1], evaluate=evaluate, on_metrics=_prefixed(on_metrics, "stage2_"),
            pad_id=pad_id, desc="metakd stage 2",
        )
    return done


def _prefixed(on_metrics: Callable | None, prefix: str) -> Callable | None:
    if on_metrics is None:
        return None
    return lambda metrics, step: on_metrics({prefix + k: v for k, v in metrics.items()}, step)
