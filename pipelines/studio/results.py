"""What a finished node made, read from its task's outputs: metrics, the Markdown report,
the confusion matrix (and its picture), a model to try; and the MLflow runs of a studio run."""

from __future__ import annotations

import functools
import io
import json
from pathlib import Path
from typing import Any

from nlpfactory.errors import InputError


def node_results(task_dir: Path | None) -> dict[str, Any]:
    """Metrics (every Metrics output's values), report text, confusion matrix, model folders."""
    out: dict[str, Any] = {"metrics": {}, "report": "", "confusion": None, "models": []}
    if task_dir is None or not (task_dir / "executor_output.json").is_file():
        return out
    written = json.loads((task_dir / "executor_output.json").read_text(encoding="utf-8"))
    for entry in written.get("artifacts", {}).values():
        for artifact in entry.get("artifacts", []):
            metadata = artifact.get("metadata") or {}
            if "confusionMatrix" in metadata:
                matrix = metadata["confusionMatrix"]
                out["confusion"] = {"labels": [a["displayName"] for a in matrix["annotationSpecs"]],
                                    "rows": [[int(v) for v in r["row"]] for r in matrix["rows"]]}
            elif not Path(artifact.get("uri", "")).is_dir():
                # Metrics have no folder; a Model's or Dataset's metadata (sizes, base model)
                # describes the folder rather than scoring anything.
                out["metrics"].update(_numbers(metadata))
    for path in sorted(task_dir.iterdir()):
        if path.is_file() and path.name.startswith("report"):
            out["report"] = path.read_text(encoding="utf-8")
        elif path.is_dir() and (path / "nlpfactory.json").is_file():
            out["models"].append(path.name)
    return out


def confusion_png(confusion: dict, title: str) -> bytes:
    """The same picture the evaluate stage logs to MLflow, drawn from the task's matrix."""
    import matplotlib.pyplot as plt

    from nlpfactory.evaluate import confusion_figure

    figure = confusion_figure(confusion["labels"], confusion["rows"], title)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    plt.close(figure)
    return buffer.getvalue()


def try_model(model_dir: Path, texts: list[str]) -> list[dict[str, Any]]:
    """Predictions with the serving code's predictor (ONNX for an export folder)."""
    if not (model_dir / "nlpfactory.json").is_file():
        raise InputError("this node made no model folder", file=str(model_dir),
                         fix="try the model of a finetune, distill or export node that finished")
    predictor = _predictor(str(model_dir))
    probabilities = predictor.predict_proba(texts)
    return [{"text": t, "label": predictor.labels[int(p.argmax())],
             "probabilities": {label: round(float(v), 4) for label, v in zip(predictor.labels, p)}}
            for t, p in zip(texts, probabilities)]


@functools.lru_cache(maxsize=4)
def _predictor(model_dir: str):
    from nlpfactory.predictor import load_predictor

    return load_predictor(model_dir, device="cpu")


def mlflow_runs(started_iso: str, finished_ms: int | None = None) -> list[dict[str, Any]]:
    """MLflow runs that began while this studio run ran, newest first.

    Matched by time, across experiments: the stages tag their runs by pipeline, which a graph
    built in the studio need not set. Two studio runs at once would see each other's.
    """
    import datetime as dt

    from mlflow.tracking import MlflowClient

    from nlpfactory.tracking import TAG_TASK, tracking_uri

    since = int(dt.datetime.fromisoformat(started_iso).timestamp() * 1000)
    query = f"attributes.start_time >= {since}"
    if finished_ms:
        query += f" and attributes.start_time <= {finished_ms}"
    client = MlflowClient(tracking_uri())
    experiments = [e.experiment_id for e in client.search_experiments()]
    if not experiments:
        return []
    found = client.search_runs(experiments, query, order_by=["attributes.start_time DESC"], max_results=50)
    return [{"run_id": r.info.run_id, "experiment_id": r.info.experiment_id, "name": r.info.run_name,
             "task": r.data.tags.get(TAG_TASK, ""), "status": r.info.status,
             "metrics": {k: round(v, 4) for k, v in r.data.metrics.items()}} for r in found]


def _numbers(metadata: dict) -> dict[str, float]:
    return {k: v for k, v in metadata.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
