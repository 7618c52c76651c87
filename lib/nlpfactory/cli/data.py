"""`nlpfactory data list` and `nlpfactory data prepare`."""

from __future__ import annotations

import argparse

from nlpfactory.cli.options import add_output_options
from nlpfactory.config import config_command, defaults, describe
from nlpfactory.data.pretrain_corpus import CorpusConfig
from nlpfactory.stages.prepare_data import PrepareConfig


def register(subparsers) -> None:
    data = subparsers.add_parser("data", help="List the ready corpora and prepare Datasets.",
                                 description="List the ready corpora and prepare Datasets.")
    data.set_defaults(handler=lambda args: data.print_help() or 2)
    commands = data.add_subparsers(dest="data_command", metavar="COMMAND")

    listing = commands.add_parser("list", help="Show the named corpora and whether they are cached.")
    listing.set_defaults(handler=_list)

    corpus = commands.add_parser(
        "corpus", help="Build the zh-pretrain corpus (cached) and show its sources and sizes.",
        description="Every Chinese text the datahub reaches (reviews, THUCNews headlines, People's Daily "
                    "1998, MSRA NER sentences), cleaned, deduplicated, with every benchmark's dev/test texts "
                    "and their near-duplicates kept out, packed into sequences.")
    config_command(corpus, CorpusConfig, _corpus)
    corpus.add_argument("--output", default=None, help="Also write the corpus folder here (default: only the cache).")

    prepare = commands.add_parser(
        "prepare", help="Turn a data file or a named corpus into a Dataset folder.",
        description="Read a TSV, CSV, JSONL or Parquet file (or a named corpus), check every row, "
                    "remove duplicates and split it into train/dev/test Parquet files.",
    )
    # --input is the friendly name of the config's data_source; both spellings work.
    prepare.add_argument("--input", "--data-source", dest="data_source",
                         default=defaults(PrepareConfig)["data_source"],
                         help=f"{describe(PrepareConfig)['data_source']} "
                              f"(default: {defaults(PrepareConfig)['data_source']!r})")
    config_command(prepare, PrepareConfig, _prepare, skip=("data_source",))
    add_output_options(prepare, "Dataset")


def _list(args: argparse.Namespace) -> int:
    from nlpfactory.data.datahub import cache_dir, list_corpora

    header = ("name", "task", "labels", "rows", "source package", "cached")
    table = [header] + [
        (c.name, c.task, _short(", ".join(c.labels)), str(c.rows), c.requirement,
         "yes" if c.cached else "no")
        for c in list_corpora()
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    print(f"\ncache: {cache_dir()} (set NLPFACTORY_CACHE to move it); "
          "rows are source lines before duplicates are removed")
    return 0


def _short(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."


def _prepare(cfg: PrepareConfig, args: argparse.Namespace) -> int:
    from nlpfactory.data.prepare import prepare_dataset

    info = prepare_dataset(cfg, args.output, overwrite=args.overwrite)
    print(f"Dataset written to {args.output}")
    print(f"  task: {info.task}; labels: {', '.join(info.labels)}"
          + (f"; domains: {', '.join(info.domains)}" if info.domains else ""))
    for split, rows in info.rows.items():
        print(f"  {split:<5} {rows:>8} rows")
    return 0


def _corpus(cfg: CorpusConfig, args: argparse.Namespace) -> int:
    import shutil

    from nlpfactory.data.pretrain_corpus import load_corpus

    folder, _, info = load_corpus(cfg)
    if args.output:
        shutil.copytree(folder, args.output, dirs_exist_ok=True)
    print(f"{info['name']}: {info['sequences']} sequences, {info['characters']:,} characters in {args.output or folder}")
    for name, source in info["sources"].items():
        print(f"  {name:<18} {source['texts_kept']:>7} texts kept of {source['texts_read']:>7} read "
              f"({source['characters']:>10,} characters; duplicates {source['duplicate']}, benchmark dev/test "
              f"{source['held_out_exact']} + near {source['held_out_overlap']}, too short {source['too_short']})")
    print(f"  kept out: {info['held_out_rule']}")
    return 0
