"""`nlpfactory models build zh-small|zh-tiny` and `nlpfactory models list`."""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nlpfactory.backbones import BackboneConfig


def register(subparsers) -> None:
    from nlpfactory.backbones import RECIPES, BackboneConfig
    from nlpfactory.config import config_command

    models = subparsers.add_parser("models", help="Build and list the Chinese backbones pretrained here.",
                                   description="Build and list the Chinese backbones pretrained here.")
    models.set_defaults(handler=lambda args: models.print_help() or 2)
    commands = models.add_subparsers(dest="models_command", metavar="COMMAND")

    build = commands.add_parser("build", help="Pretrain a backbone on the zh-pretrain corpus (once; then cached).",
                                description="Masked-LM pretraining with whole-word masking on the zh-pretrain "
                                            "corpus; the folder is cached under the nlpfactory cache, keyed by "
                                            "corpus and config, and every stage accepts it as model=.")
    build.add_argument("name", choices=sorted(RECIPES), help="Which backbone: " +
                       "; ".join(f"{r.name}: {r.description}" for r in RECIPES.values()))
    config_command(build, BackboneConfig, _build, skip=("name",))

    listing = commands.add_parser("list", help="Show the cached backbones.")
    listing.set_defaults(handler=_list)


def _build(cfg: BackboneConfig, args: argparse.Namespace) -> int:
    from nlpfactory.backbones import build
    from nlpfactory.models.card import read_card

    folder = build(cfg.name, corpus_dir=cfg.corpus or None, force=cfg.force, **cfg.overrides())
    metrics = read_card(folder)["mlm_metrics"]
    print(f"{cfg.name}: {folder}")
    print(f"  held-out MLM accuracy {metrics['mlm_accuracy']:.4f}, perplexity {metrics['mlm_perplexity']:.1f}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from nlpfactory.backbones import cached, models_dir

    header = ("name", "key", "parameters", "steps", "MLM accuracy", "perplexity", "built", "path")
    table = [header]
    for card in cached():
        m, t = card["mlm_metrics"], card["training"]
        table.append((card["backbone"]["name"], card["backbone"]["key"], f"{card['parameters'] / 1e6:.1f}M",
                      str(t["steps"]), f"{m['mlm_accuracy']:.4f}", f"{m.get('mlm_perplexity', 0):.1f}",
                      time.strftime("%Y-%m-%d %H:%M", time.localtime(card["built"])), card["path"]))
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    if len(table) == 1:
        print(f"(no backbone cached in {models_dir()}; build one with `nlpfactory models build zh-small`)")
    return 0
