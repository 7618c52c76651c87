"""The `nlpfactory` command line. Each command group lives in its own module with a
`register(subparsers)` function; the Kubeflow commands (run, submit, compile) are added by
nlpfactory.pipelines.cli so that this library never imports kfp."""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys

from nlpfactory.errors import NlpFactoryError, Terminated

# Library command groups, in the order `--help` lists them.
COMMAND_MODULES = [
    "nlpfactory.cli.data",
    "nlpfactory.cli.stages",
    "nlpfactory.cli.models",
    "nlpfactory.cli.predict",
    "nlpfactory.cli.export",
    "nlpfactory.cli.serve",
    "nlpfactory.cli.image",
]


def build_parser(extra_modules: list[str] = ()) -> argparse.ArgumentParser:
    from nlpfactory import __version__

    parser = argparse.ArgumentParser(
        prog="nlpfactory",
        description="Turn big Chinese language models into small, fast, deployable ones: "
                    "prepare data, fine-tune, distill, prompt-learn, evaluate and export, "
                    "as Kubeflow pipelines tracked in MLflow.",
    )
    parser.add_argument("--version", action="version", version=f"nlpfactory {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="Log more detail.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in [*COMMAND_MODULES, *extra_modules]:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name != name:
                raise
            continue  # a command group not built yet
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None, extra_modules: list[str] = ()) -> int:
    parser = build_parser(extra_modules)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    if args.command != "serve":  # the server stops gracefully on SIGTERM by itself
        signal.signal(signal.SIGTERM, _terminate)
    try:
        return args.handler(args) or 0
    except NlpFactoryError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except ModuleNotFoundError as err:
        if not err.name or err.name.partition(".")[0] == "nlpfactory":
            raise
        # A serving-only install (nlpfactory[serving]) has no torch, pandas, kfp, ...
        print(f"error: `nlpfactory {args.command}` needs the package {err.name.partition('.')[0]!r}, "
              "which this install does not have\n  fix: pip install 'nlpfactory[full]'", file=sys.stderr)
        return 1
    except KeyboardInterrupt as err:  # Ctrl-C or kill: the clean-ups ran on the way here
        print(f"\ninterrupted{': ' + str(err) if str(err) else ''}", file=sys.stderr)
        return 143 if isinstance(err, Terminated) else 130


def _terminate(signum, frame):
    raise Terminated


if __name__ == "__main__":
    sys.exit(main())
