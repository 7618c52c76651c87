"""`nlpfactory serve EXPORT_DIR`: an HTTP endpoint over an export folder (FastAPI + uvicorn).

Routes (health paths follow KServe's Open Inference Protocol, so a KServe or Kubernetes
probe can use them as they are):
- GET  /v2/health/live    200 while the process runs
- GET  /v2/health/ready   200 once the model is loaded
- GET  /v1/model          name, labels, text columns, limits
- POST /v1/predict        {"texts": [...], "texts_b": [...]?} ->
                          {"predictions": [{"label": ..., "probabilities": {label: p}}, ...]}
Bad requests get a 4xx with {"error": ...}: 400 invalid JSON, 413 body or batch too large,
422 a missing field, an empty list, a non-string or empty text, or mismatched pairs.
SIGTERM stops accepting connections and lets in-flight requests finish (uvicorn's graceful
shutdown, bounded by `graceful_timeout`).
"""

# No `from __future__ import annotations` here: FastAPI reads the route functions'
# annotations at runtime, and `Request` is imported inside create_app.
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from nlpfactory.config import option
from nlpfactory.errors import InputError
from nlpfactory.serving.onnx_predictor import PRECISIONS

log = logging.getLogger(__name__)


@dataclass
class ServeConfig:
    host: str = option("127.0.0.1", "Address to listen on; 0.0.0.0 to accept connections from other machines (e.g. in a container).")
    port: int = option(8080, "TCP port to listen on.")
    max_batch: int = option(64, "Most texts one request may carry; larger batches are refused with 413.")
    max_request_bytes: int = option(1_000_000, "Largest request body accepted, in bytes; larger bodies are refused with 413.")
    precision: str = option("auto", "Which ONNX model to serve: int8, fp32, or auto (int8 when the export has it).")
    graceful_timeout: int = option(10, "Seconds in-flight requests get to finish after SIGTERM before the server stops.")

    def __post_init__(self):
        if self.max_batch < 1 or self.max_request_bytes < 1:
            raise InputError("max_batch and max_request_bytes must be positive", column="max_batch",
                             fix="use e.g. --max-batch 64 --max-request-bytes 1000000")
        if self.precision not in PRECISIONS:
            raise InputError(f"unknown precision {self.precision!r}", column="precision",
                             fix=f"choose one of {', '.join(PRECISIONS)}")


class BadRequest(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def create_app(predictor, cfg: ServeConfig, name: str = "model"):
    """The FastAPI app over a loaded predictor (anything with `labels` and `predict_proba`)."""
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse
    from starlette.concurrency import run_in_threadpool

    pair = "text_b" in predictor.card.get("text_columns", [])
    app = FastAPI(title=f"nlpfactory: {name}", docs_url=None, redoc_url=None)

    @app.exception_handler(BadRequest)
    async def bad_request(_request, err: BadRequest):
        return JSONResponse({"error": err.message}, status_code=err.status)

    @app.get("/v2/health/live")
    async def live():
        return {"live": True}

    @app.get("/v2/health/ready")
    async def ready():
        return {"ready": True}

    @app.get("/v1/model")
    async def model():
        return {"name": name, "labels": predictor.labels, "pair": pair,
                "max_batch": cfg.max_batch, "max_request_bytes": cfg.max_request_bytes}

    @app.post("/v1/predict")
    async def predict(request: Request):
        payload = await _read_json(request, cfg.max_request_bytes)
        texts = _texts(payload, "texts", cfg.max_batch, required=True)
        texts_b = _texts(payload, "texts_b", cfg.max_batch, required=pair)
        if texts_b is not None and len(texts_b) != len(texts):
            raise BadRequest(422, f'"texts_b" has {len(texts_b)} items but "texts" has {len(texts)}; give one per text')
        # ONNX Runtime releases the GIL, so a worker thread keeps the event loop answering.
        probs = await run_in_threadpool(predictor.predict_proba, texts, texts_b)
        labels = predictor.labels
        return {"predictions": [
            {"label": labels[int(row.argmax())],
             "probabilities": {label: round(float(p), 6) for label, p in zip(labels, row, strict=True)}}
            for row in probs]}

    return app


async def _read_json(request, limit: int):
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BadRequest(413, f"the request body is {declared} bytes; at most {limit} are accepted")
    body = bytearray()
    async for part in request.stream():  # also bounds chunked bodies, which declare no length
        body += part
        if len(body) > limit:
            raise BadRequest(413, f"the request body is over {limit} bytes; send fewer or shorter texts")
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadRequest(400, 'the body is not valid JSON; send {"texts": ["..."]}') from None
    if not isinstance(payload, dict):
        raise BadRequest(422, 'the body must be a JSON object such as {"texts": ["..."]}')
    return payload


def _texts(payload: dict, field: str, max_batch: int, required: bool) -> list[str] | None:
    if field not in payload:
        if required:
            raise BadRequest(422, f'missing field "{field}": send {{"{field}": ["...", ...]}}')
        return None
    values = payload[field]
    if not isinstance(values, list):
        raise BadRequest(422, f'"{field}" must be a list of strings')
    if not values:
        raise BadRequest(422, f'"{field}" is empty; send at least one text')
    if len(values) > max_batch:
        raise BadRequest(413, f'"{field}" has {len(values)} texts; at most {max_batch} per request')
    for i, value in enumerate(values):
        if not isinstance(value, str):
            raise BadRequest(422, f'"{field}"[{i}] is {type(value).__name__}, not a string')
        if not value.strip():
            raise BadRequest(422, f'"{field}"[{i}] is empty; every text needs some characters')
    return values


def serve(cfg: ServeConfig, model_dir: str | Path) -> None:
    """Load the model and serve it until SIGTERM or Ctrl-C."""
    import uvicorn

    from nlpfactory.serving.onnx_predictor import open_predictor

    predictor = open_predictor(model_dir, precision=cfg.precision, batch_size=cfg.max_batch)
    name = (predictor.card.get("export", {}).get("registered", {}).get("name")
            or Path(model_dir).resolve().name)
    app = create_app(predictor, cfg, name)
    log.info("serving %s on http://%s:%d (POST /v1/predict)", name, cfg.host, cfg.port)
    uvicorn.Server(uvicorn.Config(app, host=cfg.host, port=cfg.port, log_level="info",
                                  timeout_graceful_shutdown=cfg.graceful_timeout)).run()
