"""The `nlpfactory` console script: the library's commands plus run / submit / compile."""

from __future__ import annotations

import sys

from nlpfactory.cli import main as library_main

PIPELINE_COMMANDS = ["nlpfactory.pipelines.commands", "nlpfactory.pipelines.studio.command"]


def main(argv: list[str] | None = None) -> int:
    return library_main(argv, extra_modules=PIPELINE_COMMANDS)


if __name__ == "__main__":
    sys.exit(main())
