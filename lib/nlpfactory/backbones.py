"""Chinese backbones pretrained here (`zh-small`, `zh-tiny`), built once and cached.

A backbone is the `pretrain` stage run on the `zh-pretrain` corpus with a recipe below. Its
folder lives under the cache folder as `models/<name>-<key>`, where the key hashes the
corpus's content and the full pretraining config: change either and a new backbone is built,
while benchmarks, recipes and the demo reuse the one that is there.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
from pathlib import Path

from nlpfactory.config import check_options, option, to_dict
from nlpfactory.errors import ConfigError, InputError
from nlpfactory.models.card import CARD_FILE, read_card
from nlpfactory.train.config import SCALE_OUT, nodes_option, nproc_per_node_option

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Recipe:
    name: str
    description: str
    pretrain: dict  # PretrainConfig fields that differ from its defaults
    gpu: dict = dataclasses.field(default_factory=dict)  # and what differs on a CUDA device
    needs_gpu: bool = False


# CPU budgets fit 2 shared CPU cores: zh-small in an hour, zh-tiny (the students' backbone)
# in 12 minutes. Few steps fit in that time, so batches are small (more updates) and the
# learning rates those of small BERTs (5e-4 for L4/H256; the L2/H128 one takes more).
# Training runs in bf16 where the CPU has it (precision="auto"), which fits ~1.6x the steps.
# On a GPU the batches are 8x larger and the learning rates higher. Measured on one H200 with
# four 7-minute builds sharing it (about 4,000 sequences/s each, ~5,500 steps of 256): held-out
# accuracy zh-small 0.155 at 2e-3 (0.154 at 1e-3), zh-tiny 0.109 at 4e-3 (0.101 at 2e-3),
# against 0.045 and 0.047 for the 60- and 40-minute CPU builds still on the plateau. The
# curves were still rising at the end: the recipe budgets below give them longer.
_COMMON = dict(warmup_ratio=0.06, vocab_size=8000, max_length=128, eval_rows=500,
               eval_every_steps=200, checkpoint_every_steps=0, corpora=["zh-pretrain"])
RECIPES = {r.name: r for r in (
    Recipe("zh-small", "teacher backbone: BERT L4/H256 (the small preset), masked-LM on zh-pretrain",
           dict(model="small", time_budget_minutes=60.0, batch_size=32, learning_rate=5e-4, **_COMMON),
           gpu=dict(time_budget_minutes=20.0, batch_size=256, learning_rate=2e-3, eval_every_steps=500)),
    Recipe("zh-tiny", "student backbone: BERT L2/H128 (the tiny preset), masked-LM on zh-pretrain",
           dict(model="tiny", time_budget_minutes=12.0, batch_size=32, learning_rate=1e-3, **_COMMON),
           gpu=dict(time_budget_minutes=10.0, batch_size=256, learning_rate=4e-3, eval_every_steps=500)),
    Recipe("zh-base", "large teacher backbone: BERT L12/H768 (the base preset), masked-LM on zh-pretrain; needs a GPU",
           dict(model="base", time_budget_minutes=60.0, batch_size=256, learning_rate=2e-4,
                **_COMMON | dict(eval_every_steps=500)),
           needs_gpu=True),
)}


@dataclasses.dataclass
class BackboneConfig:
    name: str = option("zh-small", "Which backbone: zh-small (the teachers' L4/H256 BERT), zh-tiny (the students' L2/H128 BERT) or zh-base (L12/H768, on a GPU).")
    time_budget_minutes: float = option(0.0, "Wall-clock budget of the pretraining in minutes (0: the recipe's: on a CPU 60 for zh-small, 12 for zh-tiny; on a GPU 20, 10 and 60 for zh-base).", least=0)
    max_steps: int = option(0, "Stop after this many steps (0: the time budget decides).", least=0)
    force: bool = option(False, "Pretrain again even when this backbone is cached.")
    corpus: str = option("", "A corpus folder written by `nlpfactory data corpus` to pretrain on (default: zh-pretrain, built on first use; for nodes > 1, a folder on the shared cache PVC).")
    nproc_per_node: int = nproc_per_node_option()
    nodes: int = nodes_option()

    def __post_init__(self):
        recipe(self.name)
        check_options(self)

    def overrides(self) -> dict:
        """The pretraining options this config sets (build's keyword arguments)."""
        given = {k: v for k, v in (("time_budget_minutes", self.time_budget_minutes),
                                   ("max_steps", self.max_steps)) if v}
        return given | {k: getattr(self, k) for k in SCALE_OUT if getattr(self, k) != 1}


def recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise InputError(f"unknown backbone {name!r}", column="name", fix=f"use one of: {', '.join(RECIPES)}")
    return RECIPES[name]


def pretrain_config(name: str, *, gpu: bool = False, **overrides):
    """The recipe's pretraining config (its GPU variant with `gpu`), with `overrides`."""
    from nlpfactory.stages.pretrain import PretrainConfig

    chosen = recipe(name)
    if chosen.needs_gpu and not gpu:
        raise InputError(f"the {name} backbone needs a GPU: on a CPU its pretraining would not get past "
                         "the first plateau in any reasonable time", column="name",
                         fix="build it on a machine with a CUDA device, or build zh-small here")
    return PretrainConfig(**(chosen.pretrain | (chosen.gpu if gpu else {}) | overrides))


def cache_key(config, corpus_fingerprint: str) -> str:
    """Hash of the pretraining config and the corpus content. How many processes train it is
    left out: it is how the backbone is built, not what it learns, and backbones cached before
    those options existed keep their keys."""
    options = {k: v for k, v in to_dict(config).items() if k not in SCALE_OUT}
    blob = json.dumps({"config": options, "corpus": corpus_fingerprint}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def models_dir() -> Path:
    """Where backbones are kept: $NLPFACTORY_BACKBONES, else the cache folder's models/."""
    from nlpfactory.data.datahub import cache_dir

    return Path(os.environ.get("NLPFACTORY_BACKBONES") or cache_dir() / "models")


def build(name: str, *, corpus_dir: str | Path | None = None, force: bool = False, **overrides) -> Path:
    """The cached backbone folder for `name` with this config and corpus, built if missing.
    `corpus_dir` is a folder written by `build_corpus` (default: the zh-pretrain corpus).

    With nproc_per_node > 1 the pretraining runs under torchrun here (every rank runs this,
    rank 0 writes). nodes > 1 is the backbone stage's to run as a PyTorchJob (stages.execute),
    whose pods call this with nodes=1."""
    import torch

    from nlpfactory.data.pretrain_corpus import corpus_fingerprint, load_corpus, read_corpus_dir
    from nlpfactory.pretrain import pretrain
    from nlpfactory.train import distributed

    cfg = pretrain_config(name, gpu=torch.cuda.is_available(), **overrides)
    if cfg.nodes > 1:
        raise ConfigError(f"nodes is {cfg.nodes}: a backbone on several pods is built by the backbone stage, "
                          "which launches the PyTorchJob", option="nodes",
                          fix=f"run `nlpfactory backbone --name {name} --nodes {cfg.nodes}` or the backbone "
                              "pipeline on Kubeflow with a cluster settings file (a ReadWriteMany cache_pvc)")
    # Read (and on first use built) before any torchrun: the ranks then only read it.
    folder, texts, corpus_info = load_corpus() if corpus_dir is None else read_corpus_dir(corpus_dir)
    key = cache_key(cfg, corpus_fingerprint(folder))
    target = models_dir() / f"{name}-{key}"
    if (target / CARD_FILE).is_file() and not force:
        log.info("backbone %s is cached: %s", name, target)
        return target
    if cfg.nproc_per_node > 1 and not distributed.is_distributed():
        return distributed.launch(build, (name,), {"corpus_dir": folder, "force": force, **overrides},
                                  cfg.nproc_per_node)
    building = target.with_name(f".{target.name}.building-{os.getpid()}")
    if not distributed.is_main_process():
        pretrain(cfg, building, texts=texts)  # writes nothing here: rank 0's output is the backbone
        return target  # and clears nothing: on a shared PVC another pod's pid may be rank 0's
    try:
        pretrain(cfg, building, texts=texts)
        card = read_card(building)
        card["backbone"] = {"name": name, "key": key, "recipe": recipe(name).description,
                            "corpus": {"key": corpus_info.get("key"), "fingerprint": corpus_fingerprint(folder),
                                       "sequences": corpus_info.get("sequences"),
                                       "characters": corpus_info.get("characters"),
                                       "sources": sorted(corpus_info.get("sources", {}))}}
        (building / CARD_FILE).write_text(json.dumps(card, ensure_ascii=False, indent=2), encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        os.replace(building, target)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return target


def build_into(cfg: BackboneConfig, output_dir: str | Path) -> dict:
    """Build (or reuse) the backbone and copy it into `output_dir` (a pipeline's Model
    artifact); returns its card (under torchrun: rank 0's; the other ranks', empty)."""
    from nlpfactory.atomic import atomic_dir
    from nlpfactory.train.distributed import is_main_process

    folder = build(cfg.name, corpus_dir=cfg.corpus or None, force=cfg.force, **cfg.overrides())
    if not is_main_process():
        return {}
    with atomic_dir(output_dir) as tmp:
        shutil.copytree(folder, tmp, dirs_exist_ok=True)
    return read_card(output_dir)


def cached() -> list[dict]:
    """Every cached backbone's card, newest first, with its folder under "path"."""
    root = models_dir()
    found = []
    for folder in sorted(root.glob("*-*")) if root.is_dir() else []:
        if folder.name.startswith(".") or not (folder / CARD_FILE).is_file():
            continue
        card = read_card(folder)
        if "backbone" in card:
            found.append(card | {"path": str(folder), "built": (folder / CARD_FILE).stat().st_mtime})
    return sorted(found, key=lambda c: -c["built"])


def find(name: str) -> Path | None:
    """The newest cached backbone called `name`, or None."""
    for card in cached():
        if card["backbone"]["name"] == name:
            return Path(card["path"])
    return None


AUTO = "auto"
# model="auto" is decided here and nowhere else: a teacher (and a few-shot or augmentation
# MLM) starts from zh-small, a student from zh-tiny; without a cached backbone, from the
# preset of the same shape, which starts from random weights.
ROLES = {"teacher": ("zh-small", "small"), "student": ("zh-tiny", "tiny")}


def resolve(name: str, role: str = "teacher") -> str:
    """`name` itself, or for "auto" the cached backbone of the role (else its preset, with a warning)."""
    if name != AUTO:
        return name
    backbone, preset = ROLES[role]
    folder = find(backbone)
    if folder is not None:
        log.info("model=auto: the %s starts from the cached %s backbone %s", role, backbone, folder)
        return str(folder)
    log.warning("model=auto: no %s backbone is cached, so the %s starts from the %s preset with random "
                "weights (which loses to a TF-IDF baseline); build one with `nlpfactory models build %s`",
                backbone, role, preset, backbone)
    return preset
