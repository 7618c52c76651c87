"""A studio graph: nodes (a component and its form values), wires between ports, and the
pipeline's own parameters; and the checks that run before it is compiled or run.

JSON shape (what the page sends and the studio folder stores):
  {"name": "...", "description": "...",
   "parameters": {"epochs": {"type": "NUMBER_INTEGER", "default": 3, "description": "..."}},
   "nodes": [{"id": "finetune", "component": "finetune", "position": [x, y], "label": "teacher",
              "params": {"epochs": {"pipeline_parameter": "epochs"}, "seed": 7}}],
   "edges": [{"source": "prepare-data", "output": "dataset", "target": "finetune", "input": "dataset"}],
   "outputs": {"Output": {"node": "export", "output": "Output"}},
   "groups": {"for-loop-1": {"kind": "loop", "parent": null, "items": {"pipeline_parameter": "domains"}}}}
A node inside a loop or condition names it ("group"); a param bound to {"loop_item": GROUP} takes
the loop's current item.
A node's param is a constant, or bound to a pipeline parameter; a param left out takes the
component's default.
"""

from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from typing import Any

from nlpfactory.errors import InputError
from nlpfactory.pipelines.studio.palette import Component, palette

NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$")
# Python types of the JSON values each KFP parameter type accepts.
ACCEPTS = {"STRING": (str,), "NUMBER_INTEGER": (int,), "NUMBER_DOUBLE": (int, float),
           "BOOLEAN": (bool,), "LIST": (list,), "STRUCT": (dict,)}


@dataclasses.dataclass
class Node:
    id: str
    component: str
    params: dict[str, Any]
    position: list[float]
    label: str = ""  # the name shown on the canvas and in Kubeflow's run graph (default: the task name)
    group: str | None = None  # the innermost loop or condition the node runs in


@dataclasses.dataclass
class Edge:
    source: str
    output: str
    target: str
    input: str


@dataclasses.dataclass
class Graph:
    name: str
    nodes: list[Node]
    edges: list[Edge]
    description: str = ""
    parameters: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    outputs: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)
    # Loops and conditions, by kfp's group name: {"kind": "loop", "items": {"pipeline_parameter": P}},
    # {"kind": "if", "parameter": P, "op": "==", "value": V}, {"kind": "else"}, or {"kind": "branches"}
    # (what holds an if and its else); each with its "parent" group or None.
    groups: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict) -> Graph:
        try:
            nodes = [Node(str(n["id"]), str(n["component"]), dict(n.get("params") or {}),
                          list(n.get("position") or [0, 0]), str(n.get("label") or ""), n.get("group") or None)
                     for n in data.get("nodes", [])]
            edges = [Edge(str(e["source"]), str(e["output"]), str(e["target"]), str(e["input"]))
                     for e in data.get("edges", [])]
        except (KeyError, TypeError) as err:
            raise InputError(f"graph JSON: a node or edge lacks {err}",
                             fix="nodes need id and component; edges need source, output, target, input") from None
        return cls(name=str(data.get("name") or "untitled"), nodes=nodes, edges=edges,
                   description=str(data.get("description") or ""),
                   parameters=dict(data.get("parameters") or {}), outputs=dict(data.get("outputs") or {}),
                   groups=dict(data.get("groups") or {}))

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    def node(self, node_id: str) -> Node | None:
        return next((n for n in self.nodes if n.id == node_id), None)

    def order(self) -> list[Node]:
        """Nodes so that every node comes after the ones that feed it (raises on a cycle)."""
        cyclic = cycle_members(self)
        if cyclic:
            raise InputError(f"graph {self.name!r} has a cycle through {', '.join(sorted(cyclic))}",
                             fix="remove one of the wires that loop back")
        done: list[Node] = []
        feeds = _feeders(self)
        placed: set[str] = set()
        while len(done) < len(self.nodes):
            for n in self.nodes:  # the graph's own order among ready nodes, so task names repeat
                if n.id not in placed and feeds[n.id] <= placed:
                    done.append(n)
                    placed.add(n.id)
                    break
        return done


@dataclasses.dataclass
class Problems:
    """What stops a graph from running: per node, and for the graph as a whole."""

    nodes: dict[str, list[str]] = dataclasses.field(default_factory=lambda: defaultdict(list))
    graph: list[str] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.graph and not any(self.nodes.values())

    def to_json(self) -> dict:
        return {"ok": self.ok, "nodes": {k: v for k, v in self.nodes.items() if v}, "graph": self.graph}


def wire_refusal(source: Component, output: str, target: Component, input_name: str) -> str | None:
    """Why a wire from source.output to target.input may not exist, or None when it may."""
    out, into = source.output(output), target.input(input_name)
    if out is None:
        return f"{source.name} has no output {output!r}"
    if into is None:
        target_param = target.parameter(input_name)
        if target_param is None:
            return f"{target.name} has no input {input_name!r}"
        into_type = target_param.type
    else:
        into_type = into.type
    if out.type != into_type:
        return (f"{source.name}.{output} is a {_say(out.type)} but {target.name}.{input_name} "
                f"takes a {_say(into_type)}")
    return None


def validate(graph: Graph, components: dict[str, Component] | None = None) -> Problems:
    components = components if components is not None else palette()
    problems = Problems()
    if not NAME.match(graph.name):
        problems.graph.append(f"name {graph.name!r}: use lowercase letters, digits and dashes (e.g. my-finetune)")
    if not graph.nodes:
        problems.graph.append("the graph is empty: drag a component from the palette")
    seen: set[str] = set()
    for node in graph.nodes:
        if node.id in seen:
            problems.graph.append(f"two nodes share the id {node.id!r}")
        seen.add(node.id)
        if node.component not in components:
            problems.nodes[node.id].append(f"unknown component {node.component!r}")
        if node.group and node.group not in graph.groups:
            problems.nodes[node.id].append(f"in group {node.group!r}, which the graph does not declare")
    _check_wires(graph, components, problems)
    for node in graph.nodes:
        if node.component in components:
            _check_node(graph, node, components[node.component], problems)
    for node_id in sorted(cycle_members(graph)):
        problems.nodes[node_id].append("part of a cycle: a step cannot feed itself")
    _check_outputs(graph, components, problems)
    return problems


def cycle_members(graph: Graph) -> set[str]:
    """Nodes that lie on a cycle: those a wire path leads from back to themselves (nodes that
    merely follow a cycle are not on it)."""
    after: dict[str, set[str]] = defaultdict(set)
    for e in graph.edges:
        after[e.source].add(e.target)
    on_cycle = set()
    for start in (n.id for n in graph.nodes):
        seen, frontier = set(), list(after[start])
        while frontier:
            current = frontier.pop()
            if current == start:
                on_cycle.add(start)
                break
            if current not in seen:
                seen.add(current)
                frontier.extend(after[current])
    return on_cycle


def _feeders(graph: Graph) -> dict[str, set[str]]:
    known = {n.id for n in graph.nodes}
    feeds: dict[str, set[str]] = {n.id: set() for n in graph.nodes}
    for e in graph.edges:
        if e.source in known and e.target in known:
            feeds[e.target].add(e.source)
    return feeds


def _check_wires(graph: Graph, components: dict[str, Component], problems: Problems) -> None:
    wired: dict[tuple[str, str], int] = defaultdict(int)
    for e in graph.edges:
        source, target = graph.node(e.source), graph.node(e.target)
        if source is None or target is None:
            problems.graph.append(f"a wire {e.source}.{e.output} → {e.target}.{e.input} "
                                  "ends at a node that is not in the graph")
            continue
        if source.component not in components or target.component not in components:
            continue
        refusal = wire_refusal(components[source.component], e.output, components[target.component], e.input)
        if refusal:
            problems.nodes[e.target].append(refusal)
        wired[(e.target, e.input)] += 1
    for (target, name), count in wired.items():
        if count > 1:
            problems.nodes[target].append(f"input {name!r} has {count} wires; keep one")


def _check_node(graph: Graph, node: Node, component: Component, problems: Problems) -> None:
    says = problems.nodes[node.id]
    wired = {e.input for e in graph.edges if e.target == node.id}
    for port in component.inputs:
        if port.name not in wired and not port.optional:
            says.append(f"input {port.name!r} ({_say(port.type)}) is not connected")
    for name, value in node.params.items():
        param = component.parameter(name)
        if param is None:
            says.append(f"{component.name} has no parameter {name!r}")
        elif name in wired:
            says.append(f"parameter {name!r} is both wired and set; keep one")
        elif isinstance(value, dict) and "loop_item" in value:
            if value["loop_item"] not in enclosing(graph, node.group):
                says.append(f"parameter {name!r} takes the item of loop {value['loop_item']!r}, which the node is not in")
        elif isinstance(value, dict) and "pipeline_parameter" in value:
            bound = value["pipeline_parameter"]
            if bound not in graph.parameters:
                says.append(f"parameter {name!r} is bound to pipeline parameter {bound!r}, which the graph does not declare")
        else:
            problem = value_problem(param.type, value, param.choices)
            if problem:
                says.append(f"parameter {name!r}: {problem}")
    for param in component.parameters:
        if param.required and param.name not in node.params and param.name not in wired:
            says.append(f"parameter {param.name!r} is required: give it a value")


def enclosing(graph: Graph, group: str | None) -> list[str]:
    """The node's group and every group around it, innermost first."""
    found = []
    while group and group in graph.groups and group not in found:
        found.append(group)
        group = graph.groups[group].get("parent")
    return found


def value_problem(kind: str, value: Any, choices: list[str] | None = None) -> str | None:
    """Why `value` does not fit a parameter of KFP type `kind`, or None."""
    accepted = ACCEPTS.get(kind, (object,))
    if isinstance(value, bool) and bool not in accepted:
        return f"{value!r} is true/false, expected {_say(kind)}"
    if not isinstance(value, accepted):
        return f"{value!r} is not {_say(kind)}"
    if choices and value not in choices:
        return f"{value!r} is not one of {', '.join(choices)}"
    return None


def _check_outputs(graph: Graph, components: dict[str, Component], problems: Problems) -> None:
    for name, ref in graph.outputs.items():
        node = graph.node(ref.get("node", ""))
        if node is None or node.component not in components \
                or components[node.component].output(ref.get("output", "")) is None:
            problems.graph.append(f"pipeline output {name!r} points at {ref}, which no node makes")


def _say(kind: str) -> str:
    return {"STRING": "text", "NUMBER_INTEGER": "whole number", "NUMBER_DOUBLE": "number",
            "BOOLEAN": "true/false", "LIST": "JSON list", "STRUCT": "JSON object"}.get(
        kind, kind.removeprefix("system."))
