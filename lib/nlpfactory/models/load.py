"""Resolve a model name — a preset, a local folder, or a hub id — into a model and tokenizer.

The hub path is the real one users take (`hfl/rbt3`); presets are built from scratch with a
vocabulary learned from the training text. Every loader ends in `from_pretrained` for
folders and hub ids, so a folder written by a preset exercises the same code path.
"""

from __future__ import annotations

import os
import pickle
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

from nlpfactory.errors import InputError, ModelNotFoundError
from nlpfactory.models.presets import PRESETS, bert_config, is_preset
from nlpfactory.models.tokenizer import learn_tokenizer

HEADS = ("classification", "token_classification", "mlm", "encoder")


def _auto_class(head: str):
    import transformers

    return {
        "classification": transformers.AutoModelForSequenceClassification,
        "token_classification": transformers.AutoModelForTokenClassification,
        "mlm": transformers.AutoModelForMaskedLM,
        "encoder": transformers.AutoModel,
    }[head]


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0") or \
        os.environ.get("TRANSFORMERS_OFFLINE", "") not in ("", "0")


def load_model(
    name: str,
    head: str = "classification",
    *,
    num_labels: int | None = None,
    texts: Iterable[str] | Callable[[], Iterable[str]] | None = None,
    vocab_size: int = 8000,
    seed: int = 42,
    tokenizer_dir: str | Path | None = None,
):
    """Return (model, tokenizer, origin) where origin is "preset", "folder" or "hub".
    "auto" is the cached zh-small backbone, else the small preset (see backbones.resolve).

    For a preset, `texts` (or a callable returning them) supplies the tokenizer's training
    text. `num_labels` sets the classification head; a head of another size in a loaded
    checkpoint is replaced (fresh weights), which is what fine-tuning on new labels needs.
    `tokenizer_dir` (a preset's checkpoint folder) keeps the learned tokenizer: one saved there
    is used as it is, so a resumed run reads its text with the ids it was trained on.
    """
    import torch
    from transformers import AutoTokenizer

    from nlpfactory.backbones import resolve

    if head not in HEADS:
        raise ValueError(f"unknown head {head!r}; choose one of {HEADS}")
    name = resolve(name)
    kwargs = {"num_labels": num_labels} if head in ("classification", "token_classification") and num_labels else {}
    if is_preset(name):
        if texts is None:
            raise ValueError(f"preset {name!r} needs training text to learn its vocabulary")
        tokenizer = pinned_tokenizer(tokenizer_dir, lambda: learn_tokenizer(
            texts() if callable(texts) else texts, vocab_size=vocab_size))
        config = bert_config(name, vocab_size=len(tokenizer), **kwargs)
        torch.manual_seed(seed)
        model = _auto_class(head).from_config(config)
        return model, tokenizer, "preset"

    folder = Path(name).expanduser()
    if folder.is_dir():
        if not (folder / "config.json").is_file():
            raise ModelNotFoundError(
                f"{folder}: the folder has no config.json, so it is not a model folder.\n"
                "  fix: point at a folder written by save_pretrained (or by an nlpfactory stage)"
            )
        source, origin, extra = str(folder), "folder", {"local_files_only": True}
    elif name.startswith(("/", ".", "~")):  # a path, not a hub id: the folder is missing
        raise ModelNotFoundError(_not_found(name, "no such folder"))
    else:
        source, origin, extra = name, "hub", {"local_files_only": _offline()}

    try:
        tokenizer = AutoTokenizer.from_pretrained(source, **extra)
        torch.manual_seed(seed)  # a new head's initial weights come from the global generator
        model = _auto_class(head).from_pretrained(
            source, ignore_mismatched_sizes=bool(kwargs), **kwargs, **extra
        )
    except pickle.UnpicklingError:
        raise InputError("a weights file in the model holds Python objects beyond plain tensors; "
                         "loading it could run code, so it was refused", file=str(source),
                         fix="save the model as safetensors (save_pretrained(..., safe_serialization=True)) "
                             "from a source you trust") from None
    except OSError as err:
        if origin == "folder":
            raise ModelNotFoundError(f"{folder}: could not load the model: {err}") from err
        raise ModelNotFoundError(_not_found(name, str(err).splitlines()[0])) from err
    return model, tokenizer, origin


def pinned_tokenizer(folder: str | Path | None, learn: Callable):
    from transformers import AutoTokenizer

    if folder is None:
        return learn()
    folder = Path(folder)
    if (folder / "tokenizer_config.json").is_file():
        return AutoTokenizer.from_pretrained(folder, local_files_only=True)
    tokenizer = learn()
    folder.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # a checkpoint folder is private
    # One temporary folder per process: under torchrun every rank learns the same vocabulary
    # and saves it here at once (a shared one failed a rank under load).
    tmp = folder.with_name(f"{folder.name}.partial-{os.getpid()}")
    tokenizer.save_pretrained(tmp)
    try:
        os.replace(tmp, folder)  # whole or not at all: a kill mid-save leaves no half tokenizer
    except OSError:  # another rank's identical one got there first
        shutil.rmtree(tmp, ignore_errors=True)
        return AutoTokenizer.from_pretrained(folder, local_files_only=True)
    return tokenizer


def _not_found(name: str, reason: str) -> str:
    offline = " (offline mode is on: HF_HUB_OFFLINE/TRANSFORMERS_OFFLINE)" if _offline() else ""
    return (
        f"model {name!r} is not a preset ({', '.join(PRESETS)}), not a local folder, and could "
        f"not be loaded from the model hub{offline}: {reason}\n"
        "  fix: use a preset, a folder written by save_pretrained, or a hub id this machine can "
        "reach (download it once where the hub is reachable, then set HF_HUB_OFFLINE=1)"
    )


def save_model(model, tokenizer, output_dir: str | Path) -> None:
    """Save weights (safetensors only) and tokenizer so `from_pretrained(dir)` loads them."""
    model.save_pretrained(output_dir, safe_serialization=True)
    with_model_max_length(tokenizer, model).save_pretrained(output_dir)


def with_model_max_length(tokenizer, model):
    """Give the tokenizer the model's real input limit (its position embeddings). A tokenizer
    built from a bare vocabulary says 1e30, so `truncation=True` in transformers' pipelines
    cut nothing and a long text overflowed the position embeddings."""
    limit = getattr(model.config, "max_position_embeddings", None)
    if limit and tokenizer.model_max_length > limit:
        tokenizer.model_max_length = limit
    return tokenizer
