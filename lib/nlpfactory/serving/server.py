"""`nlpfactory serve EXPORT_DIR`: an HTTP endpoint over an export folder (FastAPI + uvicorn),
speaking KServe's V1 and Open Inference (V2) protocols, so the same image runs as a KServe
custom predictor, plus a simple JSON route.

Routes (NAME is --model-name; request and answer shapes in protocols.py):
- GET  /v2/health/live, /v2/health/ready       liveness and readiness (V2)
- GET  /v2                                     server metadata (V2)
- GET  /v2/models/NAME, /v2/models/NAME/ready  model metadata (inputs, outputs, labels), readiness
- POST /v2/models/NAME/infer                   BYTES `text` tensor in; `label`, `probabilities` out
  (each also under /v2/models/NAME/versions/1/...)
- GET  /v1/models, /v1/models/NAME             model list and readiness (V1)
- POST /v1/models/NAME:predict                 {"instances": [...]} -> {"predictions": [...]}
- GET  /v1/model, POST /v1/predict             the simple route: {"texts": [...]} -> {"predictions": [...]}
Bad requests get {"error": ...}: 400 invalid JSON or V2 tensor, 404 unknown model, 413 body or
batch too large, 422 a missing field or a bad text, 503 when busy (see admission.py).
SIGTERM stops accepting connections and lets in-flight requests finish.
"""

# No `from __future__ import annotations` here: FastAPI reads the route functions'
# annotations at runtime, and `Request` is imported inside create_app.
import logging
from dataclasses import dataclass
from pathlib import Path

from nlpfactory.config import check_options, option
from nlpfactory.errors import InputError
from nlpfactory.serving import protocols
from nlpfactory.serving.admission import Gate, read_json
from nlpfactory.serving.onnx_predictor import PRECISIONS
from nlpfactory.serving.protocols import BadRequest

log = logging.getLogger(__name__)


@dataclass
class ServeConfig:
    host: str = option("127.0.0.1", "Address to listen on; 0.0.0.0 to accept connections from other machines (e.g. in a container).")
    port: int = option(8080, "TCP port to listen on (1-65535).")
    model_name: str = option("", "Name in the KServe routes (/v1/models/NAME, /v2/models/NAME); empty: the registered name, else the folder's name.")
    max_batch: int = option(64, "Most texts one request may carry; larger batches are refused with 413.", least=1)
    max_request_bytes: int = option(1_000_000, "Largest request body accepted, in bytes; larger bodies are refused with 413.", least=1)
    workers: int = option(2, "Requests run by the model at the same time; memory grows with it.", least=1)
    queue: int = option(32, "Requests allowed to wait for a worker; more are refused at once with 503 and Retry-After.")
    batch_size: int = option(16, "Texts the model runs at once within a request; bounds the memory of one run.", least=1)
    precision: str = option("auto", "Which ONNX model to serve: int8, fp32, or auto (int8 when the export has it).", choices=PRECISIONS)
    graceful_timeout: int = option(10, "Seconds in-flight requests get to finish after SIGTERM before the server stops.")

    def __post_init__(self):
        check_options(self)
        if not 1 <= self.port <= 65535:
            raise InputError(f"port {self.port} is not a TCP port", column="port",
                             fix="use a number from 1 to 65535, e.g. --port 8080")
        if self.queue < 0:
            raise InputError("queue cannot be negative", column="queue", fix="use 0 to refuse every request that would wait")


def create_app(predictor, cfg: ServeConfig, name: str = "model"):
    """The FastAPI app over a loaded predictor (anything with `labels` and `predict_proba`)."""
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse
    from starlette.concurrency import run_in_threadpool

    labels = predictor.labels
    pair = "text_b" in predictor.card.get("text_columns", [])
    # A tagger answers tags and entity spans per text (on every route; V2 as two BYTES tensors).
    tagger = hasattr(predictor, "predict_entities")
    platform = "onnxruntime_onnx" if str(getattr(predictor, "path", "")).endswith(".onnx") else "pytorch"
    gate = Gate(cfg.workers, cfg.queue)
    app = FastAPI(title=f"nlpfactory: {name}", docs_url=None, redoc_url=None)

    @app.exception_handler(BadRequest)
    async def bad_request(_request, err: BadRequest):
        headers = {"Retry-After": "1"} if err.status == 503 else None
        return JSONResponse({"error": err.message}, status_code=err.status, headers=headers)

    def known(model: str, version: str = "1") -> None:
        if model != name:
            raise BadRequest(404, f"no model {model!r}; this server serves {name!r}")
        if version != "1":
            raise BadRequest(404, f"no version {version!r} of {name!r}; it has version 1")

    async def run(request: Request, parse):
        async with gate.admitted():
            parsed = parse(await read_json(request, cfg.max_request_bytes))
            async with gate.running():
                # ONNX Runtime releases the GIL, so a worker thread keeps the event loop answering.
                if tagger:
                    return parsed, await run_in_threadpool(predictor.predict_entities, parsed[0])
                probs = await run_in_threadpool(predictor.predict_proba, parsed[0], parsed[1])
        return parsed, probs

    @app.get("/v2/health/live")
    async def live():
        return {"live": True}

    @app.get("/v2/health/ready")
    async def ready():
        return {"ready": True}

    @app.get("/v2")
    async def server_metadata():
        from nlpfactory import __version__
        return {"name": "nlpfactory", "version": __version__, "extensions": []}

    # The protocol's versioned paths answer too; an export is one model version, "1".
    @app.get("/v2/models/{model}")
    @app.get("/v2/models/{model}/versions/{version}")
    async def v2_model(model: str, version: str = "1"):
        known(model, version)
        return protocols.v2_metadata(name, labels, pair, platform, tagger)

    @app.get("/v2/models/{model}/ready")
    @app.get("/v2/models/{model}/versions/{version}/ready")
    async def v2_ready(model: str, version: str = "1"):
        known(model, version)
        return {"name": name, "ready": True}

    @app.post("/v2/models/{model}/infer")
    @app.post("/v2/models/{model}/versions/{version}/infer")
    async def v2_infer(model: str, request: Request, version: str = "1"):
        known(model, version)
        if tagger:
            parsed, answers = await run(request, lambda body: protocols.v2_request(
                body, pair, cfg.max_batch, protocols.V2_TAGGER_OUTPUTS))
            return protocols.v2_tagger_response(name, answers, parsed[2], parsed[3])
        parsed, probs = await run(request, lambda body: protocols.v2_request(body, pair, cfg.max_batch))
        return protocols.v2_response(name, labels, probs, parsed[2], parsed[3])

    @app.get("/v1/models")
    async def v1_models():
        return {"models": [name]}

    @app.get("/v1/models/{model}")
    async def v1_model(model: str):
        known(model)
        return {"name": name, "ready": True}

    # KServe's V1 verb is part of the last path segment (NAME:predict), so match it whole.
    @app.post("/v1/models/{model_verb}")
    async def v1_predict(model_verb: str, request: Request):
        model, _, verb = model_verb.rpartition(":")
        if verb != "predict":
            raise BadRequest(404, f"unknown V1 verb in {model_verb!r}; POST /v1/models/{name}:predict")
        known(model)
        _, answer = await run(request, lambda body: protocols.v1_request(body, pair, cfg.max_batch))
        return {"predictions": answer if tagger else protocols.predictions(labels, answer)}

    @app.get("/v1/model")
    async def model_info():
        return {"name": name, "labels": labels, "pair": pair, "max_batch": cfg.max_batch,
                "max_request_bytes": cfg.max_request_bytes, "workers": cfg.workers, "queue": cfg.queue}

    @app.post("/v1/predict")
    async def predict(request: Request):
        _, answer = await run(request, lambda body: protocols.simple_request(body, pair, cfg.max_batch))
        return {"predictions": answer if tagger else protocols.predictions(labels, answer)}

    return app


def model_name(predictor, model_dir, cfg: ServeConfig) -> str:
    from nlpfactory.serving.kserve import service_name

    registered = predictor.card.get("export", {}).get("registered", {}).get("name")
    return cfg.model_name or service_name(registered or Path(model_dir).resolve().name)


def serve(cfg: ServeConfig, model_dir: str | Path) -> None:
    """Load the model and serve it until SIGTERM or Ctrl-C."""
    import uvicorn

    from nlpfactory.serving.onnx_predictor import open_predictor

    predictor = open_predictor(model_dir, precision=cfg.precision, batch_size=cfg.batch_size)
    name = model_name(predictor, model_dir, cfg)
    app = create_app(predictor, cfg, name)
    log.info("serving %s on http://%s:%d (POST /v2/models/%s/infer, /v1/models/%s:predict, /v1/predict)",
             name, cfg.host, cfg.port, name, name)
    log.info("memory bound: %d requests run at once, %d texts of at most %s tokens a run; %d more wait, "
             "the rest get 503", cfg.workers, cfg.batch_size, getattr(predictor, "max_length", "?"), cfg.queue)
    uvicorn.Server(uvicorn.Config(app, host=cfg.host, port=cfg.port, log_level="info",
                                  timeout_graceful_shutdown=cfg.graceful_timeout)).run()
