"""Options of the few-shot stage: which prompt method, how many labels, and each method's knobs."""

from __future__ import annotations

import dataclasses
import re

from nlpfactory.config import option
from nlpfactory.errors import InputError
from nlpfactory.train.config import TrainConfig, nodes_option, nproc_per_node_option, vocab_size_option

METHODS = ("pet", "ptuning", "cptuning")
SLOT = re.compile(r"\{(\w*)\}")
SLOTS = ("text", "text_b", "mask", "prompt", "sep")


@dataclasses.dataclass
class FewshotConfig(TrainConfig):
    # A few dozen rows make an epoch one or two steps, so few-shot training needs many epochs.
    epochs: int = option(30, "How many passes over the few labelled rows.")
    batch_size: int = option(16, "Examples per training step (CP-Tuning raises it to fit every class twice).")
    learning_rate: float = option(5e-5, "Peak learning rate of AdamW for the language model (after warmup).")
    early_stopping_patience: int = option(0, "Stop after this many epochs without a better dev score (0: never stop early).")

    model: str = option("auto", "Backbone: auto (the cached zh-small masked-LM backbone, else the small preset from scratch), a preset (tiny, small, base), a Model folder with a masked-LM head (e.g. from pretrain), or a hub id.")
    vocab_size: int = vocab_size_option()
    method: str = option("cptuning", "Prompt method: pet (pattern + label words), ptuning (learned pseudo-prompt tokens + label words) or cptuning (contrastive, no label words).", choices=METHODS)
    shots_per_class: int = option(16, "Labelled training rows per class drawn from the train split (K-shot).")
    dev_shots_per_class: int = option(16, "Labelled dev rows per class used to pick the best epoch (0: keep the last epoch).")
    pattern: str = option("{text}。总之很{mask}。", "PET / P-Tuning cloze pattern: {text} (and {text_b} for pairs) is the input, {mask} the label-word slot, {prompt} where P-Tuning's pseudo tokens go.")
    verbalizer: dict = option({}, "Label -> word put in the mask slot, as JSON, e.g. {\"positive\": \"好\", \"negative\": \"差\"}; empty: each label's own name.")
    pet_mask_strategy: str = option("mean", "Label words of different lengths: as many masks as the longest word; score a label by the mean (mean) or sum (sum) of its tokens' log-probabilities.", choices=("mean", "sum"))
    prompt_length: int = option(4, "P-Tuning: number of pseudo-prompt tokens.", least=1)
    prompt_encoder: str = option("lstm", "P-Tuning prompt encoder: lstm (2-layer BiLSTM then MLP) or mlp.", choices=("lstm", "mlp"))
    prompt_learning_rate: float = option(5e-4, "Learning rate of the prompt encoder (P-Tuning) or prompt embeddings (CP-Tuning).")
    prompt_count: int = option(2, "CP-Tuning: number of trainable prompt embeddings before the output mask.", least=1)
    prompt_init_phrase: str = option("总之", "CP-Tuning: the neutral phrase whose token embeddings start the prompt embeddings.")
    margin: float = option(0.4, "CP-Tuning PCCL margin m.")
    scale: float = option(64.0, "CP-Tuning PCCL scale gamma (also the sharpness of predicted probabilities).")
    positive_cost: float = option(1.0, "CP-Tuning PCCL positive-pair cost k.")
    mlm_weight: float = option(0.1, "CP-Tuning: weight beta of the auxiliary masked-LM loss on the text (0 turns it off).")
    mlm_mask_ratio: float = option(0.15, "CP-Tuning: share of text tokens masked for the auxiliary masked-LM loss.")
    predict: str = option("mean", "CP-Tuning prediction: mean (nearest class-mean of the training rows) or 1nn (nearest single training row).", choices=("mean", "1nn"))
    nproc_per_node: int = nproc_per_node_option()
    nodes: int = nodes_option()

    def __post_init__(self):
        super().__post_init__()
        smallest = 2 if self.method == "cptuning" else 1  # PCCL needs a same-class pair
        if self.shots_per_class < smallest:
            raise InputError(f"shots_per_class is {self.shots_per_class}", column="shots_per_class",
                             fix=f"use at least {smallest} for method {self.method}")
        if not 0 < self.mlm_mask_ratio < 1:
            raise InputError(f"mlm_mask_ratio is {self.mlm_mask_ratio}", column="mlm_mask_ratio",
                             fix="use a share between 0 and 1, e.g. 0.15")
        if not all(isinstance(w, str) and w for w in self.verbalizer.values()):
            raise InputError("every verbalizer word must be a non-empty string", column="verbalizer",
                             fix='write it as JSON, e.g. {"positive": "好", "negative": "差"}')
        check_pattern(self.pattern)


def check_pattern(pattern: str) -> None:
    """A pattern names only known slots, has the input and exactly one mask slot."""
    slots = SLOT.findall(pattern)
    unknown = sorted(set(slots) - set(SLOTS))
    fix = "write it like {text}。总之很{mask}。 (pairs: {text}？{mask}，{text_b})"
    if unknown:
        raise InputError(f"pattern {pattern!r} has unknown slot(s) {unknown}; slots are {list(SLOTS)}",
                         column="pattern", fix=fix)
    if slots.count("mask") != 1 or "text" not in slots:
        raise InputError(f"pattern {pattern!r} needs one {{text}} slot and exactly one {{mask}} slot",
                         column="pattern", fix=fix)
