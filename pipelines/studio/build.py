"""Graph → KFP pipeline: a pipeline function made at run time from the component specs
(kfp's `load_component_from_file`), compiled by kfp's own compiler, so the YAML uploads to
Kubeflow like any hand-written pipeline's and runs under the same local runner."""

from __future__ import annotations

import contextlib
import inspect
import tempfile
from pathlib import Path
from typing import Any

from nlpfactory.errors import InputError
from nlpfactory.pipelines.identity import identify_tasks
from nlpfactory.pipelines.studio.graph import Graph, enclosing, validate
from nlpfactory.pipelines.studio.palette import kfp_component, palette, spec_name

PYTHON_TYPES = {"STRING": str, "NUMBER_INTEGER": int, "NUMBER_DOUBLE": float, "BOOLEAN": bool,
                "LIST": list, "STRUCT": dict}


def pipeline_function(graph: Graph, task_names: dict[str, str] | None = None):
    """A `@dsl.pipeline` built from the graph. `task_names`, when given, is filled with
    node id -> the task name kfp gives it (what the local runner's logs and outputs use)."""
    from kfp import dsl

    problems = validate(graph)
    if not problems.ok:
        raise InputError(f"graph {graph.name!r} cannot be compiled: {_summary(problems.to_json())}",
                         fix="fix the problems shown on the nodes")
    components = palette()
    ordered = graph.order()
    names = task_names if task_names is not None else {}
    signature = inspect.Signature(
        [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                           default=p.get("default", inspect.Parameter.empty),
                           annotation=PYTHON_TYPES[p.get("type", "STRING")])
         for name, p in graph.parameters.items()],
        return_annotation=_return_type(graph, components))

    def body(*args, **kwargs):
        given = signature.bind(*args, **kwargs).arguments
        tasks: dict[str, Any] = {}
        loop_items: dict[str, Any] = {}

        def add(node) -> None:
            arguments = {}
            for name, value in node.params.items():
                if isinstance(value, dict) and "pipeline_parameter" in value:
                    value = given[value["pipeline_parameter"]]
                elif isinstance(value, dict) and "loop_item" in value:
                    value = loop_items[value["loop_item"]]
                arguments[name] = value
            for e in (e for e in graph.edges if e.target == node.id):
                output = tasks[e.source].outputs[e.output]
                # An output made in a loop, read after it: one value per iteration, collected.
                leaves_a_loop = _loops(graph, graph.node(e.source).group) - _loops(graph, node.group)
                arguments[e.input] = dsl.Collected(output) if leaves_a_loop else output
            tasks[node.id] = kfp_component(node.component)(**arguments)
            if node.label:
                tasks[node.id].set_display_name(node.label)
            names[node.id] = tasks[node.id].name

        def emit(scope: str | None) -> None:
            for unit in _units(graph, scope, ordered):
                if isinstance(unit, str):
                    with _entered(graph.groups[unit], given) as item:
                        loop_items[unit] = item
                        emit(unit)
                else:
                    add(unit)

        emit(None)
        identify_tasks(graph.name)  # tracking identity by env, as the shipped pipelines do
        if graph.outputs:
            (ref,) = graph.outputs.values()
            return tasks[ref["node"]].outputs[ref["output"]]
        return None

    body.__signature__ = signature
    body.__name__ = graph.name.replace("-", "_")
    body.__doc__ = _docstring(graph)
    return dsl.pipeline(name=graph.name, description=graph.description or None)(body)


@contextlib.contextmanager
def _entered(group: dict, given: dict):
    """Open a group's kfp context; yields the loop item for a loop."""
    from kfp import dsl

    if group["kind"] == "loop":
        with dsl.ParallelFor(given[group["items"]["pipeline_parameter"]]) as item:
            yield item
    elif group["kind"] == "if":
        parameter = given[group["parameter"]]
        with dsl.If(parameter == group["value"] if group["op"] == "==" else parameter != group["value"]):
            yield None
    elif group["kind"] == "else":
        with dsl.Else():
            yield None
    else:  # "branches": kfp opens it itself around an if and its else
        yield None


def _loops(graph: Graph, group: str | None) -> set[str]:
    return {g for g in enclosing(graph, group) if graph.groups[g]["kind"] == "loop"}


def _units(graph: Graph, scope: str | None, ordered: list) -> list:
    """What runs directly in `scope`: its own nodes, and its child groups (by name), each after
    the units that feed it. Of the ready ones, groups go first in kfp's numbering (an if before
    its else, as kfp numbered them when the pipeline was written), then nodes in graph order."""
    position = {n.id: i for i, n in enumerate(ordered)}
    members: dict[str, set[str]] = {}
    for node in ordered:
        chain = [None, *reversed(enclosing(graph, node.group))]  # outermost first
        if scope in chain:
            below = chain[chain.index(scope) + 1:]
            members.setdefault(below[0] if below else node.id, set()).add(node.id)
    feeds = {u: {e.source for e in graph.edges if e.target in ids} - ids for u, ids in members.items()}
    done = {n.id for n in ordered} - set().union(*members.values())

    def key(unit: str) -> tuple:
        if unit in graph.groups:
            number = unit.rsplit("-", 1)[-1]
            return (0, int(number) if number.isdigit() else 0)
        return (1, position[unit])

    out, left = [], set(members)
    while left:
        ready = [u for u in left if feeds[u] <= done] or list(left)  # validate refuses cycles
        unit = min(ready, key=key)
        out.append(unit if unit in graph.groups else graph.node(unit))
        done |= members[unit]
        left.remove(unit)
    return out


def compile_graph(graph: Graph, path: str | Path | None = None) -> str:
    """The graph as KFP pipeline YAML text (also written to `path` when given)."""
    from kfp import compiler

    pipeline = pipeline_function(graph)
    with tempfile.TemporaryDirectory() as tmp:
        compiled = Path(tmp) / "pipeline.yaml"
        compiler.Compiler().compile(pipeline, str(compiled))
        text = _with_port_help(compiled.read_text(encoding="utf-8"))
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text, encoding="utf-8")
    return text


def _with_port_help(text: str) -> str:
    """Put back the component inputs' help, which kfp drops when it loads a spec file."""
    import yaml

    # The pipeline spec, then the platform spec (the run id's pod-label env): two documents.
    documents = list(yaml.safe_load_all(text))
    spec = documents[0]
    components = palette()
    for ref, component in spec["components"].items():
        known = components.get(spec_name(ref))
        if known is None or "dag" in component:
            continue
        help_for = {p.name: p.help for p in known.parameters} | {p.name: p.help for p in known.inputs}
        for section in component.get("inputDefinitions", {}).values():
            for name, definition in section.items():
                if help_for.get(name):
                    definition["description"] = help_for[name]
    return yaml.safe_dump_all(documents, sort_keys=True, allow_unicode=True)



def _return_type(graph: Graph, components) -> type | Any:
    if not graph.outputs:
        return inspect.Signature.empty
    if len(graph.outputs) > 1:
        raise InputError("a studio pipeline returns at most one output", fix="keep one pipeline output")
    (ref,) = graph.outputs.values()
    kind = components[graph.node(ref["node"]).component].output(ref["output"]).type
    if kind not in PYTHON_TYPES:
        raise InputError(f"pipeline output {ref} is an artifact; only a parameter can be returned",
                         fix="drop the pipeline output")
    return PYTHON_TYPES[kind]


def _docstring(graph: Graph) -> str:
    # kfp reads the pipeline's parameter descriptions from the docstring's Args section.
    lines = [graph.description or graph.name, "", "Args:"]
    lines += [f"    {name}: {' '.join(str(p.get('description', '')).split())}"
              for name, p in graph.parameters.items()]
    return "\n".join(lines)


def _summary(problems: dict) -> str:
    said = list(problems["graph"]) + [f"{node}: {m}" for node, ms in problems["nodes"].items() for m in ms]
    return "; ".join(said[:5]) + (f" (and {len(said) - 5} more)" if len(said) > 5 else "")
