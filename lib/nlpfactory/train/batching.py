"""Tokenize once, pad per batch, and group similar lengths together.

Dynamic padding (pad to the longest row of the batch, not to max_length) plus length
grouping (batches drawn from a shuffled pool sorted by length) is where most of the speed
over a plain padded Trainer comes from; bench/train_throughput.py measures it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

import torch

# Fields with one value per token (sequence labeling), padded to the batch width with these.
PER_TOKEN_PADDING = {"tag_ids": -100, "teacher_token_logits": 0.0, "token_prototype_scores": 0.0}


def encode(tokenizer, texts: Sequence[str], texts_b: Sequence[str] | None = None,
           max_length: int = 128) -> list[dict]:
    """Token ids per row, unpadded: a list of {input_ids, token_type_ids} dicts."""
    enc = tokenizer(list(texts), list(texts_b) if texts_b is not None else None,
                    truncation=True, max_length=max_length, padding=False)
    keys = [k for k in ("input_ids", "token_type_ids") if k in enc]
    return [{k: enc[k][i] for k in keys} for i in range(len(texts))]


def length_grouped_batches(lengths: Sequence[int], batch_size: int, seed: int,
                           pool_batches: int = 50) -> list[list[int]]:
    """Shuffle, then sort by length inside pools of `pool_batches` batches, then shuffle the
    batches: similar lengths share a batch while the order stays random."""
    rng = random.Random(seed)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    pool = batch_size * pool_batches
    batches = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start:start + pool], key=lambda i: -lengths[i])
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def sequential_batches(n: int, batch_size: int) -> list[list[int]]:
    return [list(range(i, min(i + batch_size, n))) for i in range(0, n, batch_size)]


@torch.no_grad()
def run_batches(model: torch.nn.Module, rows: Sequence[dict], fn: Callable, pad_id: int = 0,
                batch_size: int = 64, fields: Sequence[str] | None = None) -> torch.Tensor:
    """fn(model, batch) over `rows` in order, in eval mode, concatenated on the CPU: every
    inference over tokenized rows goes through here. `fields`: the row fields the batch
    carries (default: all but the labels)."""
    model.eval()
    device = next(model.parameters()).device
    out = []
    for index in sequential_batches(len(rows), batch_size):
        batch = collate([{k: v for k, v in rows[i].items() if (k in fields if fields else k != "labels")}
                         for i in index], pad_id)
        out.append(fn(model, {k: v.to(device) for k, v in batch.items()}).float().cpu())
    return torch.cat(out)


def collate(rows: Sequence[dict], pad_id: int = 0) -> dict[str, torch.Tensor]:
    """Pad token fields to the batch's longest row; stack every other field as given."""
    width = max(len(r["input_ids"]) for r in rows)
    batch: dict[str, torch.Tensor] = {}
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    types = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        n = len(r["input_ids"])
        ids[i, :n] = torch.tensor(r["input_ids"])
        mask[i, :n] = 1
        if "token_type_ids" in r:
            types[i, :n] = torch.tensor(r["token_type_ids"])
    batch.update(input_ids=ids, attention_mask=mask, token_type_ids=types)
    for key in rows[0]:
        if key in ("input_ids", "token_type_ids"):
            continue
        values = [r[key] for r in rows]
        if key in PER_TOKEN_PADDING:
            batch[key] = _pad_per_token(values, width, PER_TOKEN_PADDING[key])
        elif isinstance(values[0], torch.Tensor):
            batch[key] = torch.stack(values)
        elif isinstance(values[0], (list, tuple)) and values[0] and isinstance(values[0][0], float):
            batch[key] = torch.tensor(values, dtype=torch.float)
        elif isinstance(values[0], float):
            batch[key] = torch.tensor(values, dtype=torch.float)
        else:
            batch[key] = torch.tensor(values)
    return batch


def _pad_per_token(values: Sequence, width: int, fill) -> torch.Tensor:
    first = torch.as_tensor(values[0])
    out = torch.full((len(values), width, *first.shape[1:]), fill, dtype=first.dtype)
    for i, v in enumerate(values):
        v = torch.as_tensor(v)
        out[i, :len(v)] = v
    return out
