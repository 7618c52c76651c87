"""Prototype scores: how typical a training row is of its own domain and how close it is to
the other domains (MetaKD's instance-level transferable knowledge, docs/methods.md §2a).

    t_i = ½·cos(h_i, c_own) + ½·cos(h_i, mean of the other domains' prototypes)

`class` (default, as the paper describes): prototypes per domain and class, c_{k,m}, and a
row compares with the prototypes of its own class. `domain` (as the released code): one
prototype per domain, and h averages every position up to max_length, padding included.
"""

from __future__ import annotations

import numpy as np
import torch

from nlpfactory.distill.features import encoder_inputs
from nlpfactory.train.batching import run_batches


def mean_token_states(
    model,
    rows: list[dict],
    *,
    pad_id: int = 0,
    batch_size: int = 64,
    include_padding: bool = False,
    max_length: int = 128,
) -> np.ndarray:
    """h(x) for each row: the mean of the last layer's token states, [CLS] and padding left
    out (or, with include_padding, the mean over all max_length positions)."""
    encoder = model.base_model
    was_training = encoder.training

    def mean_states(encoder, batch: dict) -> torch.Tensor:
        if include_padding:
            batch = _pad_to(batch, max_length, pad_id)
        states = encoder(**encoder_inputs(batch)).last_hidden_state.float()
        if include_padding:
            return states.mean(1)
        keep = batch["attention_mask"].clone()
        keep[:, 0] = 0  # [CLS]
        keep = keep.unsqueeze(-1).to(states.dtype)
        return (states * keep).sum(1) / keep.sum(1).clamp(min=1)

    out = run_batches(encoder, rows, mean_states, pad_id, batch_size, fields=("input_ids", "token_type_ids"))
    encoder.train(was_training)
    return out.numpy().astype(np.float64)


def _pad_to(batch: dict, width: int, pad_id: int) -> dict:
    extra = width - batch["input_ids"].shape[1]
    if extra <= 0:
        return batch
    fill = {"input_ids": pad_id, "attention_mask": 0, "token_type_ids": 0}
    return {k: torch.nn.functional.pad(v, (0, extra), value=fill[k]) if k in fill else v for k, v in batch.items()}


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)
    return (a * b).sum(-1) / np.maximum(norms, 1e-12)


def prototype_scores(features: np.ndarray, domains, labels, variant: str = "class") -> np.ndarray:
    """t_i for each row from its features h_i, domain id k_i and class id y_i.

    A class that no other domain has gets no transfer term (it counts 0): nothing of it is
    shared.
    """
    features = np.asarray(features, dtype=np.float64)
    domains, labels = np.asarray(domains), np.asarray(labels)
    if variant == "domain":
        labels = np.zeros_like(labels)  # one group per domain: the domain prototype
    elif variant != "class":
        raise ValueError(f"prototype must be 'class' or 'domain', got {variant!r}")
    prototypes = {
        (k, m): features[(domains == k) & (labels == m)].mean(0)
        for k, m in sorted(set(zip(domains.tolist(), labels.tolist())))
    }
    scores = np.zeros(len(features))
    for i, (h, k, m) in enumerate(zip(features, domains.tolist(), labels.tolist())):
        others = [c for (k2, m2), c in prototypes.items() if m2 == m and k2 != k]
        transfer = _cos(h, np.mean(others, axis=0)) if others else 0.0
        scores[i] = 0.5 * _cos(h, prototypes[(k, m)]) + 0.5 * transfer
    return scores
