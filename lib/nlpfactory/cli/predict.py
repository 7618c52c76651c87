"""`nlpfactory predict --model DIR --input FILE --output FILE`."""

from __future__ import annotations

import argparse

from nlpfactory.config import config_command
from nlpfactory.stages.predict import PredictConfig


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "predict", help="Label every row of a TSV, CSV, JSONL or Parquet file.",
        description="Predict a label for every row of a file, streaming it in batches so large "
                    "files fit in memory. The output keeps the input's columns and adds "
                    "`prediction` and `probabilities`; its format follows its extension.",
    )
    parser.add_argument("--model", required=True,
                        help="A Model folder (any kind) or an export folder (runs on ONNX Runtime).")
    parser.add_argument("--input", required=True,
                        help="The file to label (.tsv/.txt, .csv, .jsonl, .parquet), or a Dataset folder.")
    parser.add_argument("--output", required=True,
                        help="Where to write the labelled rows (.tsv, .csv, .jsonl or .parquet).")
    config_command(parser, PredictConfig, _predict)


def _predict(cfg: PredictConfig, args: argparse.Namespace) -> int:
    from nlpfactory.serving.predict_file import predict_file

    result = predict_file(cfg, args.model, args.input, args.output)
    counts = ", ".join(f"{label}: {n}" for label, n in result.label_counts.items())
    print(f"{result.rows} rows labelled ({counts}) -> {result.path}")
    return 0
