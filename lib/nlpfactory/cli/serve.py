"""`nlpfactory serve EXPORT_DIR --port N`."""

from __future__ import annotations

import argparse

from nlpfactory.config import config_command
from nlpfactory.serving.server import ServeConfig


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "serve", help="Serve an export folder over HTTP (KServe V1 and V2 protocols, and POST /v1/predict).",
        description="Serve a model over HTTP with KServe's protocols: V2 (GET /v2/health/live, "
                    "/v2/health/ready, /v2/models/NAME, /v2/models/NAME/ready; POST /v2/models/NAME/infer "
                    "with a BYTES input named text) and V1 (POST /v1/models/NAME:predict with "
                    "{\"instances\": [...]}); plus the simple POST /v1/predict with {\"texts\": [...]}. "
                    "Memory stays bounded: --workers requests run at once, --queue wait, the rest get 503. "
                    "Stops gracefully on SIGTERM.",
    )
    parser.add_argument("model", metavar="EXPORT_DIR",
                        help="An export folder (or any Model folder, run with PyTorch).")
    config_command(parser, ServeConfig, _serve)


def _serve(cfg: ServeConfig, args: argparse.Namespace) -> int:
    from nlpfactory.errors import InputError
    from nlpfactory.serving.server import serve

    if not 0 <= args.port <= 65535:
        raise InputError(f"--port {args.port} is not a TCP port", column="port",
                         fix="use a port from 1 to 65535 (0 picks a free one)")
    serve(cfg, args.model)
    return 0
