"""Arguments several hand-written commands share, worded once."""

from __future__ import annotations

import argparse


def add_output_options(parser: argparse.ArgumentParser, what: str) -> None:
    """--output and --overwrite of a command that writes a folder: it replaces only a folder
    nlpfactory wrote, unless told to."""
    parser.add_argument("--output", required=True,
                        help=f"The {what} folder to write. An existing folder is replaced only when "
                             "nlpfactory wrote it (see --overwrite).")
    parser.add_argument("--overwrite", action="store_true",
                        help="Replace the output folder even if it holds files nlpfactory did not write.")
