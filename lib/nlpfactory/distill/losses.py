"""Distillation losses, one function each, in a small registry (name -> function).

Every loss returns one value per sample when `reduction="none"`, so a method can weigh each
sample by its own weight before averaging (MetaKD does); `reduction="mean"` averages them.
Masks are the tokenizer's attention masks (1 = real token, 0 = padding).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _reduce(per_sample: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "none":
        return per_sample
    if reduction == "mean":
        return per_sample.mean()
    raise ValueError(f"reduction must be 'none' or 'mean', got {reduction!r}")


def kl_divergence(student_logits, teacher_logits, temperature: float = 1.0, reduction: str = "mean"):
    """T² · KL(softmax(z_T/T) ‖ softmax(z_S/T)); the T² keeps gradients comparable across T."""
    teacher_log_p = F.log_softmax(teacher_logits.float() / temperature, dim=-1)
    student_log_p = F.log_softmax(student_logits.float() / temperature, dim=-1)
    kl = (teacher_log_p.exp() * (teacher_log_p - student_log_p)).sum(-1)
    return _reduce(kl * temperature**2, reduction)


def soft_cross_entropy(student_logits, teacher_logits, temperature: float = 1.0, reduction: str = "mean"):
    """T² · CE(softmax(z_T/T), softmax(z_S/T)): the KL plus the teacher's entropy (same gradient)."""
    teacher_p = F.softmax(teacher_logits.float() / temperature, dim=-1)
    student_log_p = F.log_softmax(student_logits.float() / temperature, dim=-1)
    return _reduce(-(teacher_p * student_log_p).sum(-1) * temperature**2, reduction)


def hard_cross_entropy(student_logits, labels, reduction: str = "mean"):
    """Cross-entropy on the true labels."""
    return _reduce(F.cross_entropy(student_logits.float(), labels, reduction="none"), reduction)


def hidden_mse(student_hidden, teacher_hidden, mask, projection=None, reduction: str = "mean"):
    """Mean squared error of token states over each sample's real tokens.

    `projection` (student width -> teacher width) is the learned W_h when the widths differ.
    Padding is left out so a sample's loss does not depend on what it was batched with.
    """
    if projection is not None:
        student_hidden = projection(student_hidden)
    squared = (student_hidden.float() - teacher_hidden.float()).pow(2).mean(-1)
    keep = mask.to(squared.dtype)
    return _reduce((squared * keep).sum(-1) / keep.sum(-1).clamp(min=1), reduction)


def embedding_mse(student_embeddings, teacher_embeddings, mask, projection=None, reduction: str = "mean"):
    """Hidden MSE of the embedding layer outputs (layer 0)."""
    return hidden_mse(student_embeddings, teacher_embeddings, mask, projection, reduction)


def attention_mse(student_scores, teacher_scores, mask, reduction: str = "mean"):
    """Mean squared error of attention scores [batch, heads, query, key] over the pairs of
    real tokens only (masked positions excluded).

    Heads are matched one for one; maps with different head counts have no such match
    (averaging over heads would compare blurred maps), so they are refused.
    """
    if student_scores.shape[1] != teacher_scores.shape[1]:
        raise ValueError(f"attention maps are matched head for head: the student has {student_scores.shape[1]} "
                         f"heads, the teacher {teacher_scores.shape[1]}")
    squared = (student_scores.float() - teacher_scores.float()).pow(2).mean(1)
    m = mask.to(squared.dtype)
    pairs = m[:, :, None] * m[:, None, :]
    return _reduce((squared * pairs).sum((-1, -2)) / pairs.sum((-1, -2)).clamp(min=1), reduction)


def feature_mse(student_features, teacher_features, projection=None, reduction: str = "mean"):
    """Mean squared error of one feature vector per sample (e.g. MetaKD's domain features)."""
    if projection is not None:
        student_features = projection(student_features)
    return _reduce((student_features.float() - teacher_features.float()).pow(2).mean(-1), reduction)


def weighted_mean(per_sample: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """mean_i w_i · ℓ_i: each sample's own loss times its own weight, then the average."""
    if per_sample.shape != weights.shape:
        raise ValueError(f"one weight per sample needed: losses {tuple(per_sample.shape)}, weights {tuple(weights.shape)}")
    return (per_sample * weights.to(per_sample.dtype)).mean()


# The soft-label losses a config chooses between (DistillConfig.soft_loss); a new one is a
# function above and a line here (and its name in distill.config.SOFT_LOSSES).
LOSSES = {
    "kl": kl_divergence,
    "soft_ce": soft_cross_entropy,
}
