"""The studio's web app: one page (static/) and a JSON API over the palette, graphs, templates,
saved pipelines and runs. `nlpfactory studio` serves it on loopback."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
from pathlib import Path

from fastapi import Body, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from nlpfactory.errors import InputError, NlpFactoryError
from nlpfactory.pipelines.studio import palette, results, runs, store, templates
from nlpfactory.pipelines.studio.build import compile_graph
from nlpfactory.pipelines.studio.graph import Graph, validate

STATIC = Path(__file__).resolve().parent / "static"
VENDOR_FILES = ("drawflow.min.js", "drawflow.min.css")


def missing_assets() -> list[str]:
    return [name for name in VENDOR_FILES if not (STATIC / "vendor" / name).is_file()]


def create_app(studio_dir: Path, mlflow_ui: str = "http://127.0.0.1:5000") -> FastAPI:
    studio_dir = Path(studio_dir).resolve()
    app = FastAPI(title="nlpfactory studio", docs_url="/api/docs", redoc_url=None)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(NlpFactoryError)
    async def _refused(request: Request, err: NlpFactoryError):
        status = 400 if isinstance(err, InputError) else 502  # 502: Kubeflow answered badly
        return JSONResponse({"error": str(err)}, status_code=status)

    @app.get("/", include_in_schema=False)
    def page():
        return FileResponse(STATIC / "index.html")

    @app.get("/api/palette")
    async def get_palette():
        # Prepared once, as bytes: the first page load must not wait for FastAPI's encoder.
        return Response(_palette_json(), media_type="application/json")

    @app.post("/api/validate")
    def post_validate(graph: dict = Body(...)):
        return validate(Graph.from_json(graph)).to_json()

    @app.post("/api/compile")
    def post_compile(graph: dict = Body(...)):
        return {"yaml": compile_graph(Graph.from_json(graph))}

    @app.get("/api/templates")
    async def get_templates():
        return Response(json.dumps(templates.listing()), media_type="application/json")

    @app.get("/api/templates/{name}")
    def get_template(name: str):
        return templates.open_template(name).to_json()

    @app.get("/api/pipelines")
    def get_saved():
        return store.names(studio_dir)

    @app.get("/api/pipelines/{name}")
    def get_saved_one(name: str):
        return store.load(studio_dir, name).to_json()

    @app.put("/api/pipelines/{name}")
    def put_saved(name: str, graph: dict = Body(...)):
        graph_obj = Graph.from_json(graph | {"name": name})
        folder = store.save(studio_dir, graph_obj)
        return {"name": name, "yaml": str(folder / "pipeline.yaml")}

    @app.post("/api/runs")
    def post_run(body: dict = Body(...)):
        graph = Graph.from_json(body.get("graph") or {})
        arguments = body.get("arguments") or {}
        if body.get("target", "local") == "kubeflow":
            run_id = runs.submit_kubeflow(studio_dir, graph, body.get("host") or None, arguments,
                                          experiment=body.get("experiment") or "nlpfactory")
        else:
            run_id = runs.start_local(studio_dir, graph, arguments)
        return {"id": run_id}

    @app.get("/api/runs")
    def get_runs():
        return runs.list_runs(studio_dir)

    @app.get("/api/runs/{run_id}")
    def get_run(run_id: str):
        return runs.state(studio_dir, run_id)

    @app.post("/api/runs/{run_id}/stop")
    def post_stop(run_id: str):
        runs.stop(studio_dir, run_id)
        return runs.state(studio_dir, run_id)

    @app.get("/api/runs/{run_id}/graph")
    def get_run_graph(run_id: str):
        folder = runs.run_folder(studio_dir, run_id)
        return {"graph": json.loads((folder / "graph.json").read_text(encoding="utf-8")),
                "arguments": json.loads((folder / "arguments.json").read_text(encoding="utf-8"))}

    @app.get("/api/runs/{run_id}/nodes/{node_id}")
    def get_node(run_id: str, node_id: str):
        found = results.node_results(runs.task_folder(studio_dir, run_id, node_id))
        return found | {"log": runs.node_log(studio_dir, run_id, node_id)}

    @app.get("/api/runs/{run_id}/nodes/{node_id}/confusion.png")
    def get_confusion(run_id: str, node_id: str):
        found = results.node_results(runs.task_folder(studio_dir, run_id, node_id))
        if not found["confusion"]:
            raise InputError(f"node {node_id!r} made no confusion matrix", fix="pick an evaluate node that finished")
        return Response(results.confusion_png(found["confusion"], node_id), media_type="image/png")

    @app.post("/api/runs/{run_id}/nodes/{node_id}/try")
    def post_try(run_id: str, node_id: str, body: dict = Body(...)):
        task_dir = runs.task_folder(studio_dir, run_id, node_id)
        models = results.node_results(task_dir)["models"]
        if task_dir is None or not models:
            raise InputError(f"node {node_id!r} has no finished model", fix="run the graph to the end first")
        texts = [t for t in body.get("texts", []) if str(t).strip()]
        if not texts:
            raise InputError("no sentence to predict", fix="type a sentence")
        return results.try_model(task_dir / models[0], texts)

    @app.get("/api/runs/{run_id}/mlflow")
    def get_mlflow(run_id: str):
        info = runs.state(studio_dir, run_id)
        finished = None
        if info["state"] != "running":
            result = runs.run_folder(studio_dir, run_id) / "result.json"
            stamp = result.stat().st_mtime if result.is_file() else dt.datetime.now().timestamp()
            finished = int(stamp * 1000)
        found = results.mlflow_runs(info["started"], finished)
        for r in found:
            r["url"] = f"{mlflow_ui}/#/experiments/{r['experiment_id']}/runs/{r['run_id']}"
        return found

    return app


@functools.lru_cache(maxsize=1)
def _palette_json() -> bytes:
    entries = [dataclasses.asdict(c) for c in palette.palette().values()]
    for entry in entries:
        entry.pop("spec_file")
    stages = palette.STAGES + sorted({e["stage"] for e in entries} - set(palette.STAGES))
    return json.dumps({"stages": stages, "components": entries}).encode("utf-8")
