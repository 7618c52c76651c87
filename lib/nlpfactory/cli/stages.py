"""One command per stage, made from the stage registry: `nlpfactory finetune --dataset DIR
--output DIR --epochs 3 ...`. Options, defaults and help come from the stage's config and its
artifacts, the same source as the Kubeflow form.

A folder input is `--NAME DIR`; a metrics input is a JSON file of numbers (as `--metrics-file`
writes); the one folder output is `--output DIR`. The command tracks to MLflow like a
pipeline task does (MLFLOW_TRACKING_URI; `--no-tracking` writes nothing).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from nlpfactory import stages
from nlpfactory.config import add_arguments, from_args

# Stages whose command is written by hand, with the shape users know from other tools.
OWN_COMMANDS = {"prepare_data": "nlpfactory data prepare", "predict": "nlpfactory predict",
                "export": "nlpfactory export"}


def register(subparsers) -> None:
    for name in stages.names():
        if name not in OWN_COMMANDS:
            _add_command(subparsers, name)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _output_flags(stage) -> dict[str, str]:
    """Output name -> its option: `--output` when the stage writes one folder."""
    if len(stage.OUTPUTS) == 1:
        return {next(iter(stage.OUTPUTS)): "--output"}
    return {n: _flag(n) for n in stage.OUTPUTS}


def _add_command(subparsers, name: str) -> None:
    stage = stages.get(name)
    parser = subparsers.add_parser(
        name.replace("_", "-"), help=stage.SUMMARY, description=stage.SUMMARY,
    )
    given = parser.add_argument_group("inputs and outputs")
    for n, port in stage.INPUTS.items():
        what = {"folder": "DIR", "metrics": "JSON", "metrics_list": "JSON"}[port.kind]
        given.add_argument(_flag(n), dest=f"input_{n}", metavar=what, required=not port.optional,
                           nargs="+" if port.kind == "metrics_list" else None,
                           help=port.help + (" A JSON file of numbers, e.g. from --metrics-file." if what == "JSON" else ""))
    for n, flag in _output_flags(stage).items():
        given.add_argument(flag, dest=f"output_{n}", metavar="DIR", required=True,
                           help=stage.OUTPUTS[n].help + " Replaced whole if it exists.")
    given.add_argument("--metrics-file", metavar="JSON", help="Also write the stage's metrics to this JSON file.")
    given.add_argument("--report", metavar="MD", help="Write the stage's Markdown report here (default: print it).")
    given.add_argument("--no-tracking", action="store_true", help="Do not log to MLflow.")
    add_arguments(parser.add_argument_group("options"), stage.Config)
    parser.set_defaults(handler=lambda args: _run(name, args))


def _read_input(value, kind: str):
    if kind == "metrics":
        return json.loads(Path(value).read_text(encoding="utf-8"))
    if kind == "metrics_list":
        return [json.loads(Path(v).read_text(encoding="utf-8")) for v in value]
    return value


def _run(name: str, args: argparse.Namespace) -> int:
    from nlpfactory.tracking import (
        NO_TRACKING,
        MlflowTracker,
        install_kill_handler,
        tracking_uri,
        ui_hint,
    )

    stage = stages.get(name)
    cfg = from_args(stage.Config, args)
    inputs = {n: _read_input(v, p.kind) if (v := getattr(args, f"input_{n}")) is not None else None
              for n, p in stage.INPUTS.items()}
    outputs = {n: getattr(args, f"output_{n}") for n in stage.OUTPUTS}
    install_kill_handler()
    tracker = NO_TRACKING if args.no_tracking else MlflowTracker.from_env()
    result = stages.execute(name, cfg, inputs, outputs, tracker)
    if result.report and args.report:
        Path(args.report).write_text(result.report, encoding="utf-8")
    elif result.report:
        print(result.report)
    if args.metrics_file:
        Path(args.metrics_file).write_text(json.dumps(result.metrics, indent=2), encoding="utf-8")
    for key, value in result.metrics.items():
        print(f"  {key}: {value:.6g}" if isinstance(value, float) else f"  {key}: {value}")
    for n, folder in outputs.items():
        print(f"{n} written to {folder}")
    if not args.no_tracking:
        print(f"MLflow: {tracking_uri()} ({ui_hint(tracking_uri())})", file=sys.stderr)
    return 0
