"""What distillation reads from inside a BERT-style classifier: its logits, every layer's
token states (0 = embeddings) and the attention scores of chosen layers.

Attention scores are the pre-softmax Q·Kᵀ/√d of each head (TinyBERT matches these), rebuilt
from the layer's input states and its own query/key weights, so the fast fused attention
kernels stay on (they do not return attention maps).
"""

from __future__ import annotations

import dataclasses

import torch

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
