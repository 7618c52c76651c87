"""Options every training stage shares; stage configs inherit them."""

from __future__ import annotations

import dataclasses

from nlpfactory.config import check_options, option
from nlpfactory.errors import ConfigError

PRECISIONS = ("auto", "bf16", "fp32")


@dataclasses.dataclass
class TrainConfig:
    epochs: int = option(3, "How many passes over the training data.", least=1)
    batch_size: int = option(32, "Examples per training step.", least=1)
    learning_rate: float = option(5e-5, "Peak learning rate of AdamW (after warmup).")
    weight_decay: float = option(0.01, "AdamW weight decay (not applied to biases and LayerNorm).")
    warmup_ratio: float = option(0.1, "Share of the steps over which the learning rate rises from 0.")
    grad_accum_steps: int = option(1, "Add up gradients over this many batches before a step.", least=1)
    max_grad_norm: float = option(1.0, "Clip the gradient norm to this value (0 turns clipping off).")
    max_length: int = option(128, "Longest input in tokens; longer texts are cut.", least=1)
    early_stopping_patience: int = option(2, "Stop after this many epochs without a better dev score (0: never stop early).")
    checkpoint_every_steps: int = option(200, "Save a resumable checkpoint every this many steps.")
    seed: int = option(42, "Random seed: the same seed gives the same model.")
    precision: str = option("auto", "Arithmetic of the forward and backward passes: bf16 (autocast; weights and optimizer stay fp32), fp32, or auto (bf16 on a GPU or a CPU with native bf16 instructions, else fp32).", choices=PRECISIONS)

    def __post_init__(self):
        # The subclass's fields too: a training stage's config needs no checks of its own for
        # the ranges and choices its fields declare.
        check_options(self)
        if not 0 <= self.warmup_ratio < 1:
            raise ConfigError(f"warmup_ratio is {self.warmup_ratio}", option="warmup_ratio", fix="use a share in [0, 1), e.g. 0.1")
        auto = "auto_rate" in next(f for f in dataclasses.fields(self) if f.name == "learning_rate").metadata
        if self.learning_rate < 0 or (self.learning_rate == 0 and not auto):
            raise ConfigError(f"learning_rate is {self.learning_rate}", option="learning_rate",
                              fix="use a positive rate, e.g. 5e-4 from scratch or 3e-5 for a pretrained model"
                                  + (", or 0 to pick one from the model" if auto else ""))


# Options several training stages share word for word: one description and one range each.
def vocab_size_option():
    return option(8000, "Vocabulary size learned from the training text when the model is a preset.")


def dev_metric_option():
    return option("accuracy", "Dev score that picks the best epoch: accuracy or macro_f1.", choices=("accuracy", "macro_f1"))


# Scale-out: stages.execute reads these two (torchrun on this machine, a PyTorchJob across pods).
SCALE_OUT = ("nproc_per_node", "nodes")


def nproc_per_node_option():
    return option(1, "Training processes on this machine (torchrun data parallel, one per GPU or a few CPU cores); the batch size stays the global one.", least=1)


def nodes_option():
    return option(1, "Training pods: more than 1 runs the training as a Kubeflow PyTorchJob of that many pods, nproc_per_node processes each (needs the Training Operator and a cluster settings file with a shared cache PVC).", least=1)


def decay_groups(named_parameters, weight_decay: float) -> list[dict]:
    """AdamW parameter groups: weight decay on weight matrices, none on biases, LayerNorm and
    other vectors (decaying them only pulls scales and offsets toward zero)."""
    decay, no_decay = [], []
    for name, p in named_parameters:
        if p.requires_grad:
            (no_decay if p.ndim < 2 or "LayerNorm" in name or name.endswith("bias") else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
