"""A masked language model whose input can carry trainable prompt vectors.

All three methods read the MLM at mask positions: PET and P-Tuning take vocabulary
log-probabilities there, CP-Tuning the MLM head's transform. Prompt vectors (P-Tuning's
encoded pseudo tokens, CP-Tuning's [PRO] embeddings) replace the word embeddings at the
placeholder positions; position and segment embeddings are still added by the model.
Works with BERT-style (`.cls`) and RoBERTa-style (`.lm_head`) masked LMs.
"""

from __future__ import annotations

import torch
from torch import nn


class PromptEmbeddings(nn.Module):
    """Prompt vectors learned directly (CP-Tuning's [PRO]; also a saved prompt at prediction)."""

    def __init__(self, vectors: torch.Tensor):
        super().__init__()
        self.vectors = nn.Parameter(vectors.detach().clone())

    def forward(self) -> torch.Tensor:
        return self.vectors


class PromptedMLM(nn.Module):
    def __init__(self, mlm: nn.Module, prompt: nn.Module | None = None):
        super().__init__()
        self.mlm = mlm
        self.prompt = prompt

    def hidden_states(self, batch: dict) -> torch.Tensor:
        """Last-layer hidden states (batch, tokens, hidden)."""
        ids = batch["input_ids"]
        embeds = self.mlm.get_input_embeddings()(ids)
        if self.prompt is not None:
            positions = batch["prompt_positions"]
            rows = torch.arange(ids.shape[0], device=ids.device)[:, None].expand_as(positions)
            vectors = self.prompt().to(embeds.dtype)
            embeds = embeds.clone()
            embeds[rows, positions] = vectors.unsqueeze(0).expand(ids.shape[0], -1, -1)
        out = self.mlm.base_model(inputs_embeds=embeds, attention_mask=batch["attention_mask"],
                                  token_type_ids=batch.get("token_type_ids"))
        return out[0]

    def at_masks(self, batch: dict) -> torch.Tensor:
        """Hidden states at the mask slots (batch, masks, hidden)."""
        hidden = self.hidden_states(batch)
        index = batch["mask_positions"].unsqueeze(-1).expand(-1, -1, hidden.shape[-1])
        return hidden.gather(1, index)

    def vocab_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        return _head(self.mlm)(hidden)

    def head_transform(self, hidden: torch.Tensor) -> torch.Tensor:
        """The MLM head before its vocabulary projection (dense -> GELU -> LayerNorm)."""
        if hasattr(self.mlm, "cls"):
            return self.mlm.cls.predictions.transform(hidden)
        head = self.mlm.lm_head
        return head.layer_norm(nn.functional.gelu(head.dense(hidden)))


def _head(mlm: nn.Module) -> nn.Module:
    if hasattr(mlm, "cls"):
        return mlm.cls
    if hasattr(mlm, "lm_head"):
        return mlm.lm_head
    raise TypeError(f"{type(mlm).__name__}: not a BERT- or RoBERTa-style masked LM (no .cls or .lm_head)")


def embed_phrase(mlm: nn.Module, tokenizer, phrase: str, count: int) -> torch.Tensor:
    """Word embeddings of `phrase`'s tokens, repeated or cut to `count` rows."""
    ids = tokenizer(phrase, add_special_tokens=False)["input_ids"] or [tokenizer.mask_token_id]
    ids = (ids * count)[:count]
    with torch.no_grad():
        return mlm.get_input_embeddings().weight[torch.tensor(ids)].clone()
