"""`nlpfactory serve` under concurrent load: memory stays bounded, errors are only deliberate 503s.

A `small` preset classifier (untrained: this measures load, not accuracy) is exported to ONNX
int8 and served; 20 and 40 clients each send requests of 64 texts, short (~30 characters) or
long (~1,000 characters, cut to the model's max_length), back to back for a fixed time.
Each cell starts a fresh server, so the peak RSS (the kernel's VmHWM of the server process)
is that cell's own. Two server settings run side by side:
- bounded: the defaults (2 workers, a queue of 32, the model run 16 texts at a time);
- unbounded (the baseline, as serve was before): every request runs at once, 64 texts a run.
The baseline is killed if it passes --rss-cap MB, so it cannot take the machine down.

Reports requests/s (200s only), p50/p99 latency of answered requests, peak RSS, 503s and
other errors. Target: bounded peak RSS <= 600 MB at 40 clients with long texts, 0 errors
other than 503s.

    python bench/serve_load.py                # ~4 minutes on 2 cores
    python bench/serve_load.py --seconds 5    # quicker, noisier
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from common import print_table, write_json
from inference import make_texts

SETTINGS = {
    "bounded": [],  # the serve defaults
    "unbounded": ["--workers", "1000", "--queue", "0", "--batch-size", "64"],
}
TEXTS_PER_REQUEST = 64
LONG_CHARS = 1000


def build(work: Path, max_length: int) -> Path:
    from nlpfactory.models.card import write_card
    from nlpfactory.models.load import load_model, save_model
    from nlpfactory.serving.export import ExportConfig, export

    texts = make_texts(200)
    model, tokenizer, _ = load_model("small", num_labels=2, texts=texts, vocab_size=8000, seed=0)
    save_model(model, tokenizer, work / "model")
    write_card(work / "model", {"task": "classification", "kind": "classifier", "labels": ["negative", "positive"],
                                "max_length": max_length, "text_columns": ["text"], "preset": "small"})
    export(ExportConfig(verify=False), work / "model", work / "export")
    return work / "export"


def request_texts(kind: str) -> list[str]:
    texts = make_texts(TEXTS_PER_REQUEST, seed=1)
    if kind == "short":
        return [t[:30] for t in texts]
    return [(t * (LONG_CHARS // len(t) + 1))[:LONG_CHARS] for t in texts]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(export_dir: Path, port: int, setting: str, threads: int) -> subprocess.Popen:
    import httpx

    code = "import sys; from nlpfactory.cli import main; sys.exit(main(sys.argv[1:]))"
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    process = subprocess.Popen([sys.executable, "-c", code, "serve", str(export_dir), "--port", str(port),
                                "--max-batch", str(TEXTS_PER_REQUEST), *SETTINGS[setting]],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300  # a shared, busy machine can take minutes to start it
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v2/health/ready", timeout=2).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("the server did not become ready")


def rss_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def watch(process: subprocess.Popen, cap_mb: float, stop: threading.Event, state: dict) -> None:
    """Kill the server if its RSS passes the cap (the unbounded baseline can use gigabytes)."""
    while not stop.wait(0.2) and process.poll() is None:
        current = rss_mb(process.pid, "VmRSS")
        state["peak"] = max(state.get("peak", 0.0), rss_mb(process.pid, "VmHWM"))
        if current > cap_mb:
            state["killed_at_mb"] = current
            process.kill()


async def load(url: str, body: bytes, clients: int, seconds: float) -> dict:
    import httpx

    latencies, refused, errors = [], 0, []
    deadline = time.monotonic() + seconds

    async def client():
        nonlocal refused
        async with httpx.AsyncClient(timeout=120) as http:
            while time.monotonic() < deadline:
                start = time.perf_counter()
                try:
                    response = await http.post(f"{url}/v1/predict", content=body,
                                               headers={"content-type": "application/json"})
                except httpx.HTTPError as err:
                    errors.append(type(err).__name__)
                    await asyncio.sleep(0.2)
                    continue
                if response.status_code == 200:
                    latencies.append(time.perf_counter() - start)
                elif response.status_code == 503:
                    refused += 1
                    await asyncio.sleep(float(response.headers.get("retry-after", "1")))
                else:
                    errors.append(str(response.status_code))

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - began
    return {"ok": len(latencies), "refused_503": refused, "errors": len(errors), "error_kinds": sorted(set(errors)),
            "requests_per_s": len(latencies) / elapsed,
            "p50_s": float(np.percentile(latencies, 50)) if latencies else None,
            "p99_s": float(np.percentile(latencies, 99)) if latencies else None}


def run_cell(export_dir: Path, setting: str, clients: int, kind: str, args) -> dict:
    port = free_port()
    server = start_server(export_dir, port, setting, args.threads)
    idle_mb = rss_mb(server.pid, "VmRSS")
    stop, state = threading.Event(), {}
    watcher = threading.Thread(target=watch, args=(server, args.rss_cap, stop, state), daemon=True)
    watcher.start()
    body = json.dumps({"texts": request_texts(kind)}, ensure_ascii=False).encode()
    try:
        result = asyncio.run(load(f"http://127.0.0.1:{port}", body, clients, args.seconds))
        if server.poll() is None:
            state["peak"] = max(state.get("peak", 0.0), rss_mb(server.pid, "VmHWM"))
    finally:
        stop.set()
        watcher.join()
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    return {"setting": setting, "clients": clients, "texts": kind, "idle_rss_mb": round(idle_mb, 1),
            "peak_rss_mb": round(state.get("peak", 0.0), 1), "killed_at_mb": state.get("killed_at_mb"), **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=12, help="Load time per cell.")
    parser.add_argument("--clients", type=int, nargs="+", default=[20, 40])
    parser.add_argument("--max-length", type=int, default=128, help="The model's max_length in tokens.")
    parser.add_argument("--threads", type=int, default=1, help="ONNX Runtime threads in the server.")
    parser.add_argument("--rss-cap", type=float, default=3000, help="Kill a server past this RSS (MB).")
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory(prefix="nlpfactory-serve-load-") as tmp:
        export_dir = build(Path(tmp), args.max_length)
        for kind in ("short", "long"):
            for clients in args.clients:
                for setting in args.settings:
                    row = run_cell(export_dir, setting, clients, kind, args)
                    rows.append(row)
                    print(f"{setting:9} {clients:3} clients {kind:5}: {row['requests_per_s']:.2f} req/s, "
                          f"peak {row['peak_rss_mb']} MB", flush=True)
    table = [{**r, "requests_per_s": f"{r['requests_per_s']:.2f}",
              "p50_s": "-" if r["p50_s"] is None else f"{r['p50_s']:.2f}",
              "p99_s": "-" if r["p99_s"] is None else f"{r['p99_s']:.2f}",
              "killed_at_mb": r["killed_at_mb"] or ""} for r in rows]
    print()
    print_table(table, ["setting", "clients", "texts", "requests_per_s", "p50_s", "p99_s", "idle_rss_mb",
                        "peak_rss_mb", "refused_503", "errors", "killed_at_mb"])
    bounded_long = [r for r in rows if r["setting"] == "bounded" and r["texts"] == "long"]
    worst = max((r["peak_rss_mb"] for r in bounded_long), default=0.0)
    bad = sum(r["errors"] for r in rows if r["setting"] == "bounded")
    print(f"\nbounded: peak RSS with long texts {worst} MB (target <= 600), non-503 errors {bad} (target 0)")
    path = write_json("serve_load", {"texts_per_request": TEXTS_PER_REQUEST, "long_chars": LONG_CHARS,
                                     "max_length": args.max_length, "seconds": args.seconds,
                                     "threads": args.threads, "settings": SETTINGS, "rows": rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
