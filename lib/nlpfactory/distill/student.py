"""The student: a preset built with the teacher's vocabulary (so both read the same tokens),
or the teacher's own embeddings and chosen layers (`teacher_layers:1,3`)."""

from __future__ import annotations

import copy
import logging
import re

import torch

from nlpfactory.errors import InputError
from nlpfactory.models.labels import name_labels
from nlpfactory.models.presets import PRESETS, bert_config, is_preset

log = logging.getLogger(__name__)
_LAYER_KEY = re.compile(r"^(.*\bencoder\.layer\.)(\d+)(\..*)$")


def teacher_layers(spec: str, teacher_layer_count: int) -> list[int]:
    """`teacher_layers:1,3` -> [1, 3]: teacher layers numbered 1..L."""
    try:
        layers = [int(x) for x in spec.split(":", 1)[1].split(",") if x.strip()]
    except (IndexError, ValueError):
        layers = []
    if not layers or not all(1 <= n <= teacher_layer_count for n in layers):
        raise InputError(f"cannot build a student from {spec!r}: the teacher has layers 1..{teacher_layer_count}",
                         column="student_init", fix="write teacher_layers: and layer numbers, e.g. teacher_layers:1,3")
    return layers


def from_teacher_layers(teacher, layers: list[int]):
    """A copy of the teacher with only `layers` (in this order), plus its embeddings, pooler
    and classification head."""
    config = copy.deepcopy(teacher.config)
    config.num_hidden_layers = len(layers)
    student = type(teacher)(config)
    weights = {}
    for key, value in teacher.state_dict().items():
        found = _LAYER_KEY.match(key)
        if not found:
            weights[key] = value.clone()
        elif int(found[2]) + 1 in layers:
            weights[f"{found[1]}{layers.index(int(found[2]) + 1)}{found[3]}"] = value.clone()
    student.load_state_dict(weights, strict=True)
    return student


def pretrained_student(teacher, labels: list[str], seed: int, per_token: bool = False, teacher_vocab: dict | None = None):
    """The cached zh-tiny backbone as a classifier that reads the teacher's tokens, else None.

    Backbones pretrained on different corpora learn different WordPiece vocabularies of the
    same size (the cached zh-small and zh-tiny share 7,964 of 8,000 tokens, but only 5,930 at
    the same id), so equal sizes do not mean equal tokens: the student's embedding rows are
    put at the teacher's ids by token string, and the few teacher tokens the backbone lacks
    start from the backbone's initializer."""
    from nlpfactory.backbones import resolve
    from nlpfactory.models.load import load_model

    folder = resolve("auto", "student")
    if is_preset(folder):
        return None
    head = "token_classification" if per_token else "classification"
    model, tokenizer, _ = load_model(folder, head, num_labels=len(labels), seed=seed)
    if teacher_vocab is None:  # nothing to compare but the sizes
        teacher_vocab = tokenizer.get_vocab() if model.config.vocab_size == teacher.config.vocab_size else {}
    if teacher_vocab == tokenizer.get_vocab():
        return model
    shared = set(teacher_vocab) & set(tokenizer.get_vocab())
    if len(shared) < MIN_SHARED_VOCABULARY * max(len(teacher_vocab), 1):
        log.warning("the cached student backbone %s shares %d of the teacher's %d tokens, so the student starts "
                    "from the tiny preset with random weights", folder, len(shared), len(teacher_vocab))
        return None
    remap_vocabulary(model, tokenizer.get_vocab(), teacher_vocab, seed)
    log.info("student backbone %s: embeddings moved to the teacher's token ids (%d of %d tokens shared)",
             folder, len(shared), len(teacher_vocab))
    return model


MIN_SHARED_VOCABULARY = 0.9  # below this the backbone's embeddings are mostly unused, so it is not worth starting from


def remap_vocabulary(model, own: dict[str, int], wanted: dict[str, int], seed: int) -> None:
    """Rebuild the word embeddings so that row `wanted[token]` holds the model's row `own[token]`."""
    old = model.get_input_embeddings().weight.detach().clone()
    model.resize_token_embeddings(max(wanted.values()) + 1)
    rows = model.get_input_embeddings().weight
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        rows.copy_(torch.randn(rows.shape, generator=generator) * model.config.initializer_range)
        for token, index in wanted.items():
            if token in own:
                rows[index] = old[own[token]]


def started_from(student, student_option: str) -> str:
    """What a built student's weights came from: its folder (a backbone, or the teacher's for
    teacher_layers), else the preset it was built from."""
    return student.config.name_or_path or ("tiny" if student_option == "auto" else student_option)


def build_student(student: str, student_init: str, teacher, labels: list[str], seed: int = 42,
                  per_token: bool = False, teacher_vocab: dict | None = None):
    """A sequence classifier (a token classifier when `per_token`) over `labels` that reads the
    teacher's tokens (`teacher_vocab`: the teacher tokenizer's vocabulary, token -> id)."""
    from transformers import AutoModelForSequenceClassification, AutoModelForTokenClassification

    pretrained = pretrained_student(teacher, labels, seed, per_token, teacher_vocab) if student == "auto" and \
        not student_init.startswith("teacher_layers:") else None
    if student == "auto":
        student = "tiny"
    if pretrained is not None:
        model = pretrained
    elif student_init.startswith("teacher_layers:"):
        model = from_teacher_layers(teacher, teacher_layers(student_init, teacher.config.num_hidden_layers))
    elif is_preset(student):
        config = bert_config(student, vocab_size=teacher.config.vocab_size, num_labels=len(labels),
                             pad_token_id=teacher.config.pad_token_id or 0)
        torch.manual_seed(seed)
        auto = AutoModelForTokenClassification if per_token else AutoModelForSequenceClassification
        model = auto.from_config(config)
    else:
        raise InputError(f"unknown student {student!r}", column="student",
                         fix=f"choose a preset ({', '.join(PRESETS)}) or set student_init=teacher_layers:1,3")
    name_labels(model, labels)
    return model
