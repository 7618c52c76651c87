"""`nlpfactory export --model DIR --output DIR [--dataset DIR]`."""

from __future__ import annotations

import argparse

from nlpfactory.cli.options import add_output_options
from nlpfactory.config import config_command
from nlpfactory.serving.export import ExportConfig


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "export", help="Export a classifier to ONNX (and int8), with a KServe manifest.",
        description="Write an export folder: model.onnx, model.int8.onnx, the tokenizer, "
                    "nlpfactory.json and a KServe InferenceService manifest. Checks that ONNX "
                    "Runtime matches PyTorch and that int8 keeps the dev accuracy; optionally "
                    "registers the model in the MLflow model registry.",
    )
    parser.add_argument("--model", required=True, help="The Model folder to export (a classifier).")
    add_output_options(parser, "export")
    parser.add_argument("--dataset", default=None,
                        help="A Dataset folder; its dev split checks int8 accuracy against fp32.")
    config_command(parser, ExportConfig, _export)


def _export(cfg: ExportConfig, args: argparse.Namespace) -> int:
    from nlpfactory.serving.export import export
    from nlpfactory.tracking import MlflowTracker

    # Like every stage command, it tracks: its MLflow run is the one the registered model comes from.
    result = export(cfg, args.model, args.output, args.dataset,
                    tracker=MlflowTracker.from_env(), overwrite=args.overwrite)
    print(f"export written to {result.path}")
    for key, value in result.metrics.items():
        print(f"  {key}: {value:.6g}")
    if result.registered_uri:
        print(f"registered as {result.registered_uri}")
    return 0
