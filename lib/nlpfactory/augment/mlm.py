"""Contextual replacement: mask whole jieba words and let a masked language model refill them.

Each masked position is filled by sampling from the model's top-k tokens there (special
tokens excluded), all positions of a row in one forward pass. Only the chosen words' spans
of the text are rewritten; everything else, spacing and case included, stays as written.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import torch

from nlpfactory.augment.words import choose_words, offsets_of, word_token_groups


def _masked_rows(tokenizer, texts: Sequence[str], ratio: float, rng: random.Random, max_length: int):
    """Per text: token ids with the chosen words masked, and the chosen words' token groups."""
    enc = offsets_of(tokenizer, texts, max_length)
    rows = []
    for i, text in enumerate(texts):
        groups = word_token_groups(text, enc["offset_mapping"][i])
        chosen = [groups[j] for j in choose_words(groups, ratio, rng)]
        ids = list(enc["input_ids"][i])
        for group in chosen:
            for position in group:
                ids[position] = tokenizer.mask_token_id
        rows.append((ids, chosen, enc["offset_mapping"][i]))
    return rows


def _sample(logits: torch.Tensor, banned: torch.Tensor, top_k: int, generator: torch.Generator) -> torch.Tensor:
    logits = logits.float().masked_fill(banned, float("-inf"))
    k = min(top_k, int((~banned).sum())) if top_k > 0 else logits.shape[-1]
    values, indexes = logits.topk(k, dim=-1)
    picks = torch.multinomial(values.softmax(-1).cpu(), 1, generator=generator).squeeze(-1)
    return indexes.cpu().gather(-1, picks.unsqueeze(-1)).squeeze(-1)


def _rewrite(text: str, chosen, offsets, tokens: dict[int, str]) -> str:
    # Right to left, so earlier character offsets stay valid while later spans change length.
    for group in sorted(chosen, key=lambda g: -g[0]):
        start, end = offsets[group[0]][0], offsets[group[-1]][1]
        word = "".join(tokens[p].removeprefix("##") for p in group)
        text = text[:start] + word + text[end:]
    return text


@torch.inference_mode()
def mlm_augment(texts: Sequence[str], model, tokenizer, *, ratio: float, rng: random.Random,
                top_k: int = 20, max_length: int = 128, batch_size: int = 32) -> list[str]:
    """One contextual-replacement copy of each text, in order."""
    device = next(model.parameters()).device
    model.eval()
    banned = torch.zeros(model.config.vocab_size, dtype=torch.bool)
    banned[[i for i in tokenizer.all_special_ids if i < len(banned)]] = True
    banned = banned.to(device)
    generator = torch.Generator().manual_seed(rng.getrandbits(63))
    out = []
    for start in range(0, len(texts), batch_size):
        chunk = list(texts[start:start + batch_size])
        rows = _masked_rows(tokenizer, chunk, ratio, rng, max_length)
        width = max(len(ids) for ids, _, _ in rows)
        ids = torch.full((len(rows), width), tokenizer.pad_token_id, dtype=torch.long)
        attention = torch.zeros_like(ids)
        for i, (row_ids, _, _) in enumerate(rows):
            ids[i, :len(row_ids)] = torch.tensor(row_ids)
            attention[i, :len(row_ids)] = 1
        masked = ids == tokenizer.mask_token_id
        if not masked.any():
            out += chunk
            continue
        logits = model(input_ids=ids.to(device), attention_mask=attention.to(device)).logits
        filled = _sample(logits[masked.to(device)], banned, top_k, generator).tolist()
        where = masked.nonzero().tolist()
        tokens: list[dict[int, str]] = [{} for _ in rows]
        for (row, position), token_id in zip(where, filled):
            tokens[row][position] = tokenizer.convert_ids_to_tokens(token_id)
        out += [_rewrite(text, chosen, offsets, tokens[i])
                for i, (text, (_, chosen, offsets)) in enumerate(zip(chunk, rows))]
    return out
