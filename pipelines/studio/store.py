"""Saved studio pipelines: <studio folder>/pipelines/<name>/graph.json (what the canvas reopens)
and pipeline.yaml (the compiled KFP pipeline, to upload to Kubeflow as any other)."""

from __future__ import annotations

import json
from pathlib import Path

from nlpfactory.atomic import atomic_write_bytes
from nlpfactory.errors import InputError
from nlpfactory.pipelines.studio.build import compile_graph
from nlpfactory.pipelines.studio.graph import NAME, Graph


def save(studio_dir: Path, graph: Graph) -> Path:
    """Compile first, so a graph that does not compile is never saved half-way."""
    if not NAME.match(graph.name):
        raise InputError(f"cannot save as {graph.name!r}", fix="use lowercase letters, digits and dashes")
    folder = studio_dir / "pipelines" / graph.name
    text = compile_graph(graph)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(folder / "pipeline.yaml", text.encode("utf-8"))
    atomic_write_bytes(folder / "graph.json", json.dumps(graph.to_json(), indent=2, ensure_ascii=False).encode("utf-8"))
    return folder


def names(studio_dir: Path) -> list[str]:
    return sorted(p.parent.name for p in (studio_dir / "pipelines").glob("*/graph.json"))


def load(studio_dir: Path, name: str) -> Graph:
    path = studio_dir / "pipelines" / name / "graph.json"
    if not NAME.match(name) or not path.is_file():
        raise InputError(f"no saved pipeline {name!r}", file=str(studio_dir / "pipelines"),
                         fix=f"choose one of: {', '.join(names(studio_dir)) or '(none saved yet)'}")
    return Graph.from_json(json.loads(path.read_text(encoding="utf-8")))
