"""Layer-by-layer matching (TinyBERT style), one loss value per sample: token states of each
mapped layer (0 = embeddings) through the learned projection W_h, and the attention scores of
each mapped transformer layer over real tokens only, head for head; when student and teacher
have different head counts the attention term is left out (see `attention_matched`)."""

from __future__ import annotations

import torch

from nlpfactory.distill.internals import Internals, attention_scores
from nlpfactory.distill.losses import attention_mse, embedding_mse, hidden_mse


def attention_matched(student, teacher) -> bool:
    """Whether attention maps can be matched head for head."""
    return student.config.num_attention_heads == teacher.config.num_attention_heads


def intermediate_loss(student, student_inside: Internals, teacher, teacher_inside: Internals,
                      layer_pairs: dict[int, int], projection=None) -> torch.Tensor:
    """Σ_m MSE_i(W_h H^S_m, H^T_g(m)) + Σ_{m≥1} MSE_i(A^S_m, A^T_g(m)), per sample."""
    mask = student_inside.mask
    with_attention = attention_matched(student, teacher)
    total = embedding_mse(student_inside.hidden_states[0], teacher_inside.hidden_states[layer_pairs[0]],
                          mask, projection, reduction="none")
    for m, t in sorted(layer_pairs.items()):
        if m == 0:
            continue
        total = total + hidden_mse(student_inside.hidden_states[m], teacher_inside.hidden_states[t],
                                   mask, projection, reduction="none")
        if t >= 1 and with_attention:
            with torch.no_grad():
                teacher_scores = attention_scores(teacher, teacher_inside, t)
            total = total + attention_mse(attention_scores(student, student_inside, m), teacher_scores,
                                          mask, reduction="none")
    return total
