"""A learning rate of 0 means auto: the rate that suits the model the stage starts from.

A preset trained from scratch needs a from-scratch rate (at a BERT fine-tuning rate it stays at
the majority class); a pretrained model needs a fine-tuning rate (at a from-scratch rate it
forgets what it knew: the landing recipe's MLM warm-up of zh-small at 5e-4 took its held-out
MLM accuracy from 0.174 to 0.161). The rates are decided here and nowhere else, once the stage
knows what its model resolved to; an explicit nonzero rate always wins.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from nlpfactory.config import option
from nlpfactory.models.card import CARD_FILE, read_card
from nlpfactory.models.presets import is_preset

log = logging.getLogger(__name__)

AUTO = 0.0
SCRATCH, BUILT_HERE, PRETRAINED = "scratch", "built_here", "pretrained"
WHAT_IT_IS = {
    SCRATCH: "a preset trained from scratch",
    BUILT_HERE: "a model built here (a zh-small/zh-tiny backbone, a pretrain output, or a model trained from one)",
    PRETRAINED: "another pretrained model (a hub id or a hub-style folder)",
}

# role -> the rate for each kind of starting model.
# Scratch rates are the stages' defaults before auto existed, so a fresh machine (no backbone
# cached) trains exactly as before. Built-here rates suit small BERTs (L4/H256, L2/H128), from
# one run each: bench/distill_quality.py --quick --teachers-only, zh-small teacher, average
# accuracy 0.798 at 1e-4, 0.812 at 2e-4, 0.798 at 5e-4; the same bench's zh-tiny students at
# 3e-4 (bench/ner.py's taggers used 5e-4 for the teacher and 1e-3 for zh-tiny students, not
# compared against these); MLM adaptation of a backbone at 5e-5, since 5e-4 made zh-small worse
# (0.174 -> 0.161 held-out MLM accuracy, 300 steps on 1,438 texts; 5e-5 itself not measured).
# Pretrained hub models are taken to be BERT-base sized: the usual 3e-5 fine-tuning rate, 5e-5
# to adapt their MLM.
RATES = {
    "teacher": {SCRATCH: 5e-4, BUILT_HERE: 2e-4, PRETRAINED: 3e-5},
    "meta_teacher": {SCRATCH: 3e-4, BUILT_HERE: 2e-4, PRETRAINED: 3e-5},
    "student": {SCRATCH: 5e-4, BUILT_HERE: 3e-4, PRETRAINED: 3e-5},
    "mlm": {SCRATCH: 5e-4, BUILT_HERE: 5e-5, PRETRAINED: 5e-5},
}


def short(rate: float) -> str:
    """5e-4, not 0.0005."""
    mantissa, exponent = f"{rate:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def auto_rate_option(role: str, what: str = "Peak learning rate of AdamW (after warmup)") -> float:
    """A learning-rate field whose 0 means auto for `role`; its help says what auto picks."""
    return option(AUTO, rate_help(role, what), least=0, marks={"auto_rate": role})


def rate_help(role: str, what: str) -> str:
    """`what`, and what 0 (auto) picks, in words: the option help and the pipelines' forms say it."""
    rates = RATES[role]
    return (f"{what}; 0: auto, {short(rates[SCRATCH])} from a preset trained from scratch, {short(rates[BUILT_HERE])} from a "
            f"backbone built here (zh-small, zh-tiny, a pretrain output), {short(rates[PRETRAINED])} from "
            "another pretrained model (a hub id or folder).")


def auto_rate_fields(config) -> dict[str, str]:
    """Field name -> role, for the config's learning rates whose 0 means auto."""
    return {f.name: f.metadata["auto_rate"] for f in dataclasses.fields(config) if "auto_rate" in f.metadata}


def start_kind(model: str, _depth: int = 3) -> str:
    """SCRATCH, BUILT_HERE or PRETRAINED for a resolved model name (a preset, a folder, a hub id)."""
    if is_preset(model):
        return SCRATCH
    folder = Path(model).expanduser()
    if not folder.is_dir() or not (folder / CARD_FILE).is_file():
        return PRETRAINED  # a hub id, or a folder written by save_pretrained elsewhere
    card = read_card(folder)
    if card.get("origin") == "hub":  # started from a hub model here: still a hub-sized model
        return PRETRAINED
    base = str(card.get("base_model") or "")
    if card.get("origin") == "folder" and _depth and Path(base).expanduser().is_dir():
        return start_kind(base, _depth - 1)
    # A backbone card, a pretrain output, or a classifier trained here: a small BERT that
    # has already learned, which a from-scratch rate would shake loose.
    return BUILT_HERE


def with_auto_rates(config, model: str, who: str = "the model", run=None):
    """`config` with every learning rate left at 0 (auto) set from what `model` (the resolved
    starting model) is; logs one line per rate chosen, and gives the stage's MLflow `run` the
    rates it trains at as <name>_used params (its config params keep the 0 asked for)."""
    kind = start_kind(model)
    chosen = {}
    for name, role in auto_rate_fields(config).items():
        if getattr(config, name) == AUTO:
            chosen[name] = RATES[role][kind]
            log.info("%s=0 (auto) -> %s: %s starts from %s (%s)", name, short(chosen[name]), who,
                     WHAT_IT_IS[kind], model)
    config = dataclasses.replace(config, **chosen) if chosen else config
    if run is not None:
        run.log_params({f"{name}_used": rate for name, rate in rates_used(config).items()})
    return config


def rates_used(config) -> dict[str, float]:
    """The learning rates the stage trains at (after with_auto_rates), for its model card."""
    return {name: getattr(config, name) for name in auto_rate_fields(config)}
