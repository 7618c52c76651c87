"""BERT configurations built from scratch, for machines without a model hub.

Sizes follow the usual small-BERT ladder; the vocabulary comes from the tokenizer that is
learned on the training text (see tokenizer.py), so vocab_size is filled in at build time.
"""

from __future__ import annotations

PRESETS: dict[str, dict] = {
    "tiny": dict(num_hidden_layers=2, hidden_size=128, num_attention_heads=2, intermediate_size=512),
    "small": dict(num_hidden_layers=4, hidden_size=256, num_attention_heads=4, intermediate_size=1024),
    "base": dict(num_hidden_layers=12, hidden_size=768, num_attention_heads=12, intermediate_size=3072),
}

# Shared by every preset; 512 positions like BERT so a hub model and a preset take the same inputs.
COMMON = dict(max_position_embeddings=512, type_vocab_size=2, hidden_act="gelu",
              hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)


def is_preset(name: str) -> bool:
    return name in PRESETS


def bert_config(name: str, vocab_size: int, **overrides):
    from transformers import BertConfig

    return BertConfig(vocab_size=vocab_size, **COMMON, **PRESETS[name], **overrides)
