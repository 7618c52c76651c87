"""`nlpfactory serve EXPORT_DIR --port N`."""

from __future__ import annotations

import argparse

from nlpfactory.config import add_arguments, from_args
from nlpfactory.serving.server import ServeConfig


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "serve", help="Serve an export folder over HTTP (POST /v1/predict).",
        description="Serve a model over HTTP: GET /v2/health/live and /v2/health/ready, "
                    "GET /v1/model, and POST /v1/predict with {\"texts\": [...]} "
                    "(plus \"texts_b\" for pair models). Stops gracefully on SIGTERM.",
    )
    parser.add_argument("model", metavar="EXPORT_DIR",
                        help="An export folder (or any Model folder, run with PyTorch).")
    add_arguments(parser, ServeConfig)
    parser.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    from nlpfactory.serving.server import serve

    serve(from_args(ServeConfig, args), args.model)
    return 0
