"""The shipped pipelines as editable graphs, read back from their compiled YAML
(pipelines/compiled/), so a template is exactly what `nlpfactory run NAME` runs."""

from __future__ import annotations

import functools
import json
import tempfile
from pathlib import Path
from typing import Any

import yaml

from nlpfactory.errors import InputError
from nlpfactory.pipelines.studio.graph import Edge, Graph, Node
from nlpfactory.pipelines.studio.palette import spec_name

COMPILED_DIR = Path(__file__).resolve().parents[1] / "compiled"
COLUMN_WIDTH, ROW_HEIGHT = 340, 150


def names() -> list[str]:
    return sorted(p.stem for p in compiled_dir().glob("*.yaml"))


@functools.lru_cache(maxsize=1)
def compiled_dir() -> Path:
    """pipelines/compiled/, or (an installed package does not carry it) the shipped pipelines
    compiled once into a temporary folder."""
    if any(COMPILED_DIR.glob("*.yaml")):
        return COMPILED_DIR
    from nlpfactory.pipelines.compile import compile_pipelines

    folder = Path(tempfile.mkdtemp(prefix="nlpfactory-pipelines-"))
    compile_pipelines(folder)
    return folder


@functools.lru_cache(maxsize=1)
def listing() -> list[dict]:
    """Every shipped pipeline, whether the canvas can draw it, and why not (read once: the
    shipped pipelines do not change while the studio runs)."""
    out = []
    for name in names():
        try:
            _opened(name)
            out.append({"name": name, "available": True, "reason": ""})
        except InputError as err:
            out.append({"name": name, "available": False, "reason": str(err).split("\n")[0]})
    return out


def open_template(name: str) -> Graph:
    if name not in names():
        raise InputError(f"no shipped pipeline {name!r}", fix=f"choose one of: {', '.join(names())}")
    return Graph.from_json(json.loads(_opened(name)))  # a fresh copy for the caller to edit


@functools.cache
def _opened(name: str) -> str:
    return json.dumps(graph_from_yaml((compiled_dir() / f"{name}.yaml").read_text(encoding="utf-8")).to_json())


def graph_from_yaml(text: str) -> Graph:
    """A compiled pipeline as a graph; refuses control flow (loops, conditions) it cannot draw."""
    spec = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml: 10x faster
    name = spec["pipelineInfo"]["name"]
    dag = spec["root"]["dag"]
    nodes, edges = [], []
    for task_name, task in dag["tasks"].items():
        component = spec["components"][task["componentRef"]["name"]]
        if "dag" in component:
            raise InputError(f"pipeline {name!r}: task {task_name!r} is a loop or condition, "
                             "which the studio canvas cannot draw yet",
                             fix="open a pipeline without loops or conditions, or edit this one in Python")
        params: dict[str, Any] = {}
        for input_name, source in task.get("inputs", {}).get("parameters", {}).items():
            if "componentInputParameter" in source:
                params[input_name] = {"pipeline_parameter": source["componentInputParameter"]}
            elif "runtimeValue" in source:
                params[input_name] = source["runtimeValue"]["constant"]
            elif "taskOutputParameter" in source:
                out = source["taskOutputParameter"]
                edges.append(Edge(out["producerTask"], out["outputParameterKey"], task_name, input_name))
        for input_name, source in task.get("inputs", {}).get("artifacts", {}).items():
            out = source["taskOutputArtifact"]
            edges.append(Edge(out["producerTask"], out["outputArtifactKey"], task_name, input_name))
        label = task["taskInfo"]["name"]
        nodes.append(Node(task_name, spec_name(task["componentRef"]["name"]), params, [0, 0],
                          label if label != task_name else ""))
    graph = Graph(name=name, nodes=nodes, edges=edges,
                  description=spec["pipelineInfo"].get("description", ""),
                  parameters=_parameters(spec["root"]), outputs=_outputs(dag))
    graph.nodes = _in_task_order(graph)
    _lay_out(graph)
    return graph


def _parameters(root: dict) -> dict[str, dict]:
    out = {}
    for name, p in root.get("inputDefinitions", {}).get("parameters", {}).items():
        default = p.get("defaultValue")
        if p["parameterType"] == "NUMBER_INTEGER" and isinstance(default, float):
            default = int(default)
        out[name] = {"type": p["parameterType"], "default": default, "description": p.get("description", "")}
    return out


def _outputs(dag: dict) -> dict[str, dict[str, str]]:
    return {name: {"node": o["valueFromParameter"]["producerSubtask"],
                   "output": o["valueFromParameter"]["outputParameterKey"]}
            for name, o in dag.get("outputs", {}).get("parameters", {}).items()}


def _in_task_order(graph: Graph) -> list:
    # kfp names a component's second task NAME-2: keep NAME before NAME-2 so that compiling
    # the graph again gives every task its old name.
    def key(node):
        base, _, number = node.id.rpartition("-")
        return (base, int(number)) if number.isdigit() and base else (node.id, 1)

    graph.nodes = sorted(graph.nodes, key=key)
    return graph.order()


def _lay_out(graph: Graph) -> None:
    """Columns by depth (longest chain of feeders), rows in order within a column."""
    depth: dict[str, int] = {}
    for node in graph.nodes:  # already ordered: feeders first
        feeders = [e.source for e in graph.edges if e.target == node.id]
        depth[node.id] = 1 + max((depth[f] for f in feeders), default=-1)
    rows: dict[int, int] = {}
    for node in graph.nodes:
        column = depth[node.id]
        node.position = [40 + column * COLUMN_WIDTH, 40 + rows.get(column, 0) * ROW_HEIGHT]
        rows[column] = rows.get(column, 0) + 1
