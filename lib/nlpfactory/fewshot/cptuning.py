"""CP-Tuning (docs/methods.md §3): a class feature at [OMSK], PCCL between features, an
auxiliary masked-LM loss on the text, and prediction by the nearest class prototype.

Each training step runs the model twice: once on the clean input for the features (so PCCL
sees the rows as prediction will), once with 15% of the text tokens masked ([TMSK], all
replaced by [MASK]) for the masked-LM loss; L = PCCL + beta * MLM.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from nlpfactory.fewshot.pccl import pccl_loss


def features(model, batch: dict) -> torch.Tensor:
    """e = normalize(MLM head transform of the hidden state at [OMSK]), (batch, hidden)."""
    hidden = model.at_masks(batch)[:, 0]
    return F.normalize(model.head_transform(hidden).float(), dim=-1)


def mask_text(batch: dict, mask_id: int, special_ids: list[int], ratio: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(masked input_ids, MLM labels with -100 where nothing is predicted).

    Only real text tokens are candidates: not padding, not [CLS]/[SEP]/[OMSK], not the
    prompt placeholders (which are [PAD] ids).
    """
    ids = batch["input_ids"]
    candidate = batch["attention_mask"].bool() & ~torch.isin(ids, torch.tensor(special_ids, device=ids.device))
    draw = torch.rand(ids.shape).to(ids.device)  # the CPU generator: seeded and checkpointed by the loop
    chosen = candidate & (draw < ratio)
    labels = torch.where(chosen, ids, torch.full_like(ids, -100))
    return torch.where(chosen, torch.full_like(ids, mask_id), ids), labels


def mlm_loss(model, batch: dict, mask_id: int, special_ids: list[int], ratio: float) -> torch.Tensor:
    masked_ids, labels = mask_text(batch, mask_id, special_ids, ratio)
    chosen = labels != -100
    if not chosen.any():
        return torch.zeros((), device=masked_ids.device)
    hidden = model.hidden_states({**batch, "input_ids": masked_ids})
    logits = model.vocab_logits(hidden[chosen]).float()
    return F.cross_entropy(logits, labels[chosen])


def cptuning_loss(model, batch: dict, *, margin: float, scale: float, positive_cost: float,
                  mlm_weight: float, mask_id: int, special_ids: list[int], mask_ratio: float) -> torch.Tensor:
    loss = pccl_loss(features(model, batch), batch["labels"], margin, scale, positive_cost)
    if mlm_weight > 0:
        loss = loss + mlm_weight * mlm_loss(model, batch, mask_id, special_ids, mask_ratio)
    return loss


def class_means(anchors: torch.Tensor, anchor_labels: torch.Tensor, num_labels: int) -> torch.Tensor:
    """The normalised mean feature of each class's anchors, (labels, hidden)."""
    sums = torch.zeros(num_labels, anchors.shape[1], dtype=anchors.dtype, device=anchors.device).index_add_(0, anchor_labels, anchors)
    return F.normalize(sums, dim=-1)


def prototype_scores(feats: torch.Tensor, anchors: torch.Tensor, anchor_labels: torch.Tensor,
                     num_labels: int, predict: str = "mean") -> torch.Tensor:
    """Cosine similarity of each row to each class, (rows, labels): to the class mean
    (`mean`), or to the class's nearest anchor (`1nn`)."""
    if predict == "mean":
        return feats @ class_means(anchors, anchor_labels, num_labels).T
    similarity = feats @ anchors.T
    scores = torch.full((feats.shape[0], num_labels), -2.0, dtype=similarity.dtype, device=similarity.device)
    for label in range(num_labels):
        own = anchor_labels == label
        if own.any():
            scores[:, label] = similarity[:, own].max(1).values
    return scores
