"""PCCL, CP-Tuning's pair-based cost-sensitive contrastive loss (docs/methods.md §3).

Over the unordered pairs i < j of a batch with s = e_i . e_j (features L2-normalised):
  a_p = (1/k) [1 + m - s_p]_+ ,  a_n = [s_n + m]_+   (weights only: no gradient through them)
  L = log(1 + sum_n exp(g a_n (s_n - m)) * sum_p exp(-g a_p (s_p - (1 - m))))
computed as softplus(logsumexp_n + logsumexp_p), which is the same number without overflow.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def pccl_loss(features: torch.Tensor, labels: torch.Tensor, margin: float = 0.4, scale: float = 64.0,
              positive_cost: float = 1.0) -> torch.Tensor:
    """`features` (n, d) normalised, `labels` (n,). A batch without both a same-label and a
    different-label pair gives 0 (still attached to the graph)."""
    similarity = features @ features.T
    upper = torch.triu(torch.ones_like(similarity, dtype=torch.bool), diagonal=1)
    same = labels[:, None] == labels[None, :]
    positives = similarity[upper & same]
    negatives = similarity[upper & ~same]
    if positives.numel() == 0 or negatives.numel() == 0:
        return similarity.sum() * 0.0
    alpha_p = (torch.clamp_min(1 + margin - positives, 0) / positive_cost).detach()
    alpha_n = torch.clamp_min(negatives + margin, 0).detach()
    logit_p = -scale * alpha_p * (positives - (1 - margin))
    logit_n = scale * alpha_n * (negatives - margin)
    return F.softplus(torch.logsumexp(logit_n, 0) + torch.logsumexp(logit_p, 0))
