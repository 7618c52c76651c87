"""Vanilla knowledge distillation (Hinton et al., docs/methods.md §1):

    L = α · T² · KL(softmax(z_T/T) ‖ softmax(z_S/T)) + (1 − α) · CE(z_S, y)

The teacher's logits come from a stored `logits` column when the rows carry them (augmented
data labelled once), else from the frozen teacher on the fly. With `intermediate`, each
student layer also matches its mapped teacher layer (TinyBERT style).

Rows without a label (transfer texts, label UNLABELLED) get the soft (and layer) losses only;
the CE term is averaged over the labelled rows of the batch, so with no transfer texts the
loss is the formula above averaged over the batch.
"""

from __future__ import annotations

import torch
from torch import nn

from nlpfactory.distill.features import encoder_inputs, intermediate_loss, run_with_internals
from nlpfactory.distill.losses import LOSSES, hard_cross_entropy

UNLABELLED = -1  # the label of a transfer text: the student learns the teacher's soft labels alone


class VanillaStudent(nn.Module):
    """The student, and W_h (student width -> teacher width) when intermediate layers are
    matched across widths. Only `student` is saved."""

    def __init__(self, student: nn.Module, projection: nn.Module | None = None):
        super().__init__()
        self.student = student
        self.projection = projection


def vanilla_loss(model: VanillaStudent, teacher, batch: dict, temperature: float = 2.0, alpha: float = 0.5,
                 layer_pairs: dict[int, int] | None = None, soft_loss: str = "kl") -> torch.Tensor:
    teacher_inside = None
    if layer_pairs is not None or "teacher_logits" not in batch:
        with torch.no_grad():
            teacher_inside = run_with_internals(teacher, batch)
    teacher_logits = batch["teacher_logits"] if "teacher_logits" in batch else teacher_inside.logits
    if layer_pairs is not None:
        student_inside = run_with_internals(model.student, batch)
        logits = student_inside.logits
    else:
        logits = model.student(**encoder_inputs(batch)).logits
    per_sample = alpha * LOSSES[soft_loss](logits, teacher_logits, temperature, reduction="none")
    if layer_pairs is not None:
        per_sample = per_sample + intermediate_loss(model.student, student_inside, teacher, teacher_inside,
                                                    layer_pairs, model.projection)
    labelled = batch["labels"] != UNLABELLED
    gold = hard_cross_entropy(logits[labelled], batch["labels"][labelled], reduction="none")
    # the gold loss is averaged over the labelled rows only (none in a batch of transfer texts)
    return per_sample.mean() + (1 - alpha) * gold.sum() / labelled.sum().clamp(min=1)
