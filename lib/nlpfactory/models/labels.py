"""A classifier's label names: written into its config, and checked against a Dataset's."""

from __future__ import annotations

from nlpfactory.errors import InputError


def name_labels(model, labels: list[str]) -> None:
    """Store the label names in id order in the model's config, so transformers' pipelines and
    every later stage report names, not indices."""
    model.config.id2label = dict(enumerate(labels))
    model.config.label2id = {name: i for i, name in enumerate(labels)}


def check_labels_match(model_labels, dataset_labels, *, model: str, role: str = "model",
                       ordered: bool = True) -> None:
    """Refuse a model whose labels are not the Dataset's (in the same id order, when `ordered`:
    logits are compared position by position)."""
    same = (list(model_labels) == list(dataset_labels) if ordered
            else sorted(model_labels) == sorted(dataset_labels))
    if not same:
        raise InputError(f"the {role} predicts labels {list(model_labels)}, the Dataset has {list(dataset_labels)}",
                         file=model, column="labels", fix=f"use a {role} trained on this Dataset's labels")
