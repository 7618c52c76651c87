"""Feature matching: what distillation reads from inside a BERT-style classifier, which
teacher layer each student layer learns from, and the layer-by-layer loss (TinyBERT style).

Internals: the logits, every layer's token states (0 = the embedding output, 1..L the
transformer layers, as in docs/methods.md) and the attention scores of chosen layers. The
scores are the pre-softmax Q·Kᵀ/√d of each head (what TinyBERT matches), rebuilt from the
layer's input states and its own query/key weights, so the fast fused attention kernels stay
on (they do not return attention maps).

The layer map always pairs the embeddings (0 -> 0); `uniform` pairs student layer m with
teacher layer m·L_T/L_S, so the student's last layer learns from the teacher's last.
"""

from __future__ import annotations

import dataclasses

import torch

from nlpfactory.distill.losses import attention_mse, embedding_mse, hidden_mse
from nlpfactory.errors import InputError

ENCODER_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def encoder_inputs(batch: dict) -> dict:
    return {k: batch[k] for k in ENCODER_INPUTS if k in batch}


@dataclasses.dataclass
class Internals:
    logits: torch.Tensor
    hidden_states: tuple  # L+1 tensors [batch, tokens, width]; 0 is the embedding output
    mask: torch.Tensor

    def mean_last(self) -> torch.Tensor:
        """Mean of the last layer's token states over real tokens: meanpool(H^L)."""
        keep = self.mask.unsqueeze(-1).to(self.hidden_states[-1].dtype)
        return (self.hidden_states[-1] * keep).sum(1) / keep.sum(1).clamp(min=1)


def run_with_internals(model, batch: dict) -> Internals:
    out = model(**encoder_inputs(batch), output_hidden_states=True)
    return Internals(out.logits, out.hidden_states, batch["attention_mask"])


def attention_scores(model, internals: Internals, layer: int) -> torch.Tensor:
    """Pre-softmax attention scores [batch, heads, tokens, tokens] of layer 1..L."""
    attention = model.base_model.encoder.layer[layer - 1].attention.self
    states = internals.hidden_states[layer - 1]
    batch, tokens, _ = states.shape
    heads, size = attention.num_attention_heads, attention.attention_head_size
    query = attention.query(states).view(batch, tokens, heads, size).transpose(1, 2)
    key = attention.key(states).view(batch, tokens, heads, size).transpose(1, 2)
    return query @ key.transpose(-1, -2) / size**0.5


def uniform_map(student_layers: int, teacher_layers: int) -> dict[int, int]:
    if teacher_layers % student_layers:
        step = teacher_layers / student_layers
        return {m: round(m * step) for m in range(student_layers + 1)}
    step = teacher_layers // student_layers
    return {m: m * step for m in range(student_layers + 1)}


def layer_map(spec: str, student_layers: int, teacher_layers: int) -> dict[int, int]:
    """`uniform`, or explicit pairs `student:teacher` such as `1:2,2:4` (every student layer
    1..L_S once; the embeddings are paired 0:0 unless the pairs say otherwise)."""
    if spec.strip() in ("", "uniform"):
        return uniform_map(student_layers, teacher_layers)
    pairs = {0: 0}
    try:
        for item in spec.split(","):
            s, t = item.split(":")
            pairs[int(s)] = int(t)
    except ValueError:
        raise InputError(f"cannot read the layer map {spec!r}", column="layer_map",
                         fix="write uniform, or student:teacher pairs such as 1:2,2:4") from None
    wanted = set(range(student_layers + 1))
    if set(pairs) != wanted or not all(0 <= t <= teacher_layers for t in pairs.values()):
        raise InputError(
            f"the layer map {spec!r} must name each student layer 1..{student_layers} once, "
            f"with teacher layers in 0..{teacher_layers}", column="layer_map",
            fix=f"for example uniform, or {','.join(f'{m}:{t}' for m, t in uniform_map(student_layers, teacher_layers).items() if m)}",
        )
    return pairs


def attention_matched(student, teacher) -> bool:
    """Whether attention maps can be matched head for head."""
    return student.config.num_attention_heads == teacher.config.num_attention_heads


def intermediate_loss(student, student_inside: Internals, teacher, teacher_inside: Internals,
                      layer_pairs: dict[int, int], projection=None) -> torch.Tensor:
    """Σ_m MSE_i(W_h H^S_m, H^T_g(m)) + Σ_{m≥1} MSE_i(A^S_m, A^T_g(m)), per sample; the
    attention term head for head, left out when student and teacher have different head
    counts (see `attention_matched`)."""
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
