"""`nlpfactory studio`: start the studio's page on this machine."""

from __future__ import annotations

import contextlib
from pathlib import Path

from nlpfactory.errors import InputError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "studio", help="Compose, run and watch pipelines in a web page (drag, wire, fill forms).",
        description="Start nlpfactory studio, a local web page to build pipelines from the "
                    "components, run them here or on Kubeflow, and see their results.")
    p.add_argument("--port", type=int, default=8765, help="Port to listen on (0: any free port).")
    p.add_argument("--host", default="127.0.0.1",
                   help="Address to bind; the default serves this machine only (the studio runs code).")
    p.add_argument("--folder", default="nlpfactory-studio",
                   help="Where saved pipelines and runs (with their outputs) are kept.")
    p.add_argument("--mlflow-ui", default="http://127.0.0.1:5000",
                   help="Address of `mlflow ui`, for the links to each run.")
    p.set_defaults(handler=_studio)


def _studio(args) -> int:
    import socket
    import threading

    import uvicorn

    from nlpfactory.pipelines.studio.server import create_app, missing_assets

    missing = missing_assets()
    if missing:
        raise InputError(f"the studio page's canvas library is missing ({', '.join(missing)})",
                         fix="run `make studio-assets` (or bash pipelines/studio/fetch_assets.sh), which fetches it with npm")
    from nlpfactory.pipelines.studio import server, templates

    server._palette_json()  # load the specs now, so the first page load does not wait for kfp
    templates.listing()
    app = create_app(Path(args.folder), mlflow_ui=args.mlflow_ui)
    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    host, port = sock.getsockname()[:2]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    address = f"http://{host}:{port}/"
    threading.Thread(target=_announce_when_ready, args=(server, address, args.folder), daemon=True).start()
    server.run(sockets=[sock])
    return 0


def _announce_when_ready(server, address: str, folder: str) -> None:
    """Print the address once the server answers, after asking once for what the page loads
    (the first request of each kind pays for imports and file-type tables)."""
    import time
    import urllib.request

    while not server.started:
        time.sleep(0.05)
    for path in ("", "static/studio.js", "static/vendor/drawflow.min.js", "api/palette", "api/templates",
                 "api/pipelines", "api/runs"):
        with contextlib.suppress(OSError), urllib.request.urlopen(address + path, timeout=30) as answer:
            answer.read()
    print(f"nlpfactory studio: {address}  (folder {Path(folder).resolve()}; Ctrl+C stops)", flush=True)
