"""The shipped pipelines as editable graphs, read back from their compiled YAML
(pipelines/compiled/), so a template is exactly what `nlpfactory run NAME` runs."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import yaml

from nlpfactory.errors import InputError
from nlpfactory.pipelines.studio.graph import Edge, Graph, Node
from nlpfactory.pipelines.studio.palette import checked_in_or_compiled, spec_name

COMPILED_DIR = Path(__file__).resolve().parents[1] / "compiled"
COLUMN_WIDTH, ROW_HEIGHT = 340, 150


def names() -> list[str]:
    return sorted(p.stem for p in compiled_dir().glob("*.yaml"))


@functools.lru_cache(maxsize=1)
def compiled_dir() -> Path:
    """pipelines/compiled/, or the shipped pipelines compiled."""
    return checked_in_or_compiled(COMPILED_DIR, "compile_pipelines")


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
    """A compiled pipeline as a graph: its tasks become nodes, loops and conditions become
    groups that the nodes inside them name."""
    # The first document is the pipeline spec (a second one holds the platform config).
    spec = next(yaml.load_all(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))  # libyaml: 10x faster
    reader = _Reader(spec)
    reader.walk(spec["root"]["dag"], None, {})
    graph = Graph(name=spec["pipelineInfo"]["name"], nodes=reader.nodes, edges=reader.edges,
                  description=spec["pipelineInfo"].get("description", ""),
                  parameters=_parameters(spec["root"]), outputs=_outputs(spec["root"]["dag"]),
                  groups=reader.groups)
    graph.nodes = _in_task_order(graph)
    _lay_out(graph)
    return graph


class _Reader:
    """Walks the compiled DAG and the DAGs of its loops and conditions. Inside a group, an
    input is a channel ("pipelinechannel--NAME") that the group's own task fed from outside;
    `channels` maps each channel to where it really comes from."""

    def __init__(self, spec: dict):
        self.spec = spec
        self.nodes: list[Node] = []
        self.edges: list[Edge] = []
        self.groups: dict[str, dict] = {}
        self.group_outputs: dict[tuple[str, str], tuple[str, str]] = {}  # (group, channel) -> (task, output)

    def walk(self, dag: dict, group: str | None, channels: dict[str, tuple]) -> None:
        for task_name, task in dag["tasks"].items():
            component = self.spec["components"][task["componentRef"]["name"]]
            if "dag" in component:
                self._group(task_name, task, component, group, channels)
        for task_name, task in dag["tasks"].items():
            if "dag" not in self.spec["components"][task["componentRef"]["name"]]:
                self._task(task_name, task, group, channels)

    def _source(self, source: dict, channels: dict[str, tuple]) -> tuple:
        if "componentInputParameter" in source or "componentInputArtifact" in source:
            channel = source.get("componentInputParameter") or source["componentInputArtifact"]
            return channels.get(channel, ("parameter", channel))
        if "runtimeValue" in source:
            return ("constant", source["runtimeValue"]["constant"])
        out = source.get("taskOutputArtifact") or source["taskOutputParameter"]
        key = out.get("outputArtifactKey") or out.get("outputParameterKey")
        return ("task", *self.group_outputs.get((out["producerTask"], key), (out["producerTask"], key)))

    def _group(self, name: str, task: dict, component: dict, parent: str | None, channels: dict) -> None:
        inner = {channel: self._source(source, channels)
                 for kind in ("parameters", "artifacts")
                 for channel, source in task.get("inputs", {}).get(kind, {}).items()}
        condition = task.get("triggerPolicy", {}).get("condition")
        if "parameterIterator" in task:
            iterator = task["parameterIterator"]
            items = inner[iterator["items"]["inputParameter"]]
            if items[0] != "parameter":
                raise InputError(f"loop {name!r} runs over {items}, not a pipeline parameter",
                                 fix="the studio draws loops over a pipeline parameter only")
            inner[iterator["itemInput"]] = ("loop", name)
            self.groups[name] = {"kind": "loop", "parent": parent, "items": {"pipeline_parameter": items[1]}}
        elif condition:
            self.groups[name] = {"kind": "else", "parent": parent} if condition.startswith("!(") else \
                {"kind": "if", "parent": parent, **_condition(condition, inner)}
        else:
            self.groups[name] = {"kind": "branches", "parent": parent}
        for channel, selector in component["dag"].get("outputs", {}).get("artifacts", {}).items():
            (chosen,) = selector["artifactSelectors"]
            self.group_outputs[(name, channel)] = (chosen["producerSubtask"], chosen["outputArtifactKey"])
        self.walk(component["dag"], name, inner)

    def _task(self, name: str, task: dict, group: str | None, channels: dict) -> None:
        params: dict[str, Any] = {}
        for kind in ("parameters", "artifacts"):
            for input_name, source in task.get("inputs", {}).get(kind, {}).items():
                found = self._source(source, channels)
                if found[0] == "parameter":
                    params[input_name] = {"pipeline_parameter": found[1]}
                elif found[0] == "loop":
                    params[input_name] = {"loop_item": found[1]}
                elif found[0] == "constant":
                    params[input_name] = found[1]
                else:
                    self.edges.append(Edge(found[1], found[2], name, input_name))
        label = task["taskInfo"]["name"]
        self.nodes.append(Node(name, spec_name(task["componentRef"]["name"]), params, [0, 0],
                               label if label != name else "", group))


CONDITION = re.compile(r"^inputs\.parameter_values\['([^']+)'\] (==|!=) (.+)$")


def _condition(text: str, channels: dict) -> dict:
    found = CONDITION.match(text)
    source = channels.get(found.group(1)) if found else None
    if not found or not source or source[0] != "parameter":
        raise InputError(f"condition {text!r} is not a pipeline parameter compared with a value",
                         fix="the studio draws conditions of the form `parameter == value` only")
    return {"parameter": source[1], "op": found.group(2), "value": json.loads(found.group(3))}


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
