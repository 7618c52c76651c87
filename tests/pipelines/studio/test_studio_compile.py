"""A graph compiles with kfp's own compiler from the specs; a shipped pipeline opened as a
graph compiles back to the very YAML of its hand-written Python."""

from pathlib import Path

import pytest
import yaml
from kfp.components import load_component_from_text

from nlpfactory.errors import InputError
from nlpfactory.pipelines.studio import templates
from nlpfactory.pipelines.studio.build import compile_graph
from nlpfactory.pipelines.studio.graph import Graph

COMPILED = Path(__file__).resolve().parents[2].parent / "pipelines" / "compiled"
SHIPPED = ["distill", "fewshot", "finetune", "landing", "metakd"]


@pytest.mark.parametrize("name", SHIPPED)
def test_an_opened_template_compiles_to_the_hand_written_pipeline(name):
    graph = templates.open_template(name)
    ours, our_platform = yaml.safe_load_all(compile_graph(graph))
    theirs, their_platform = yaml.safe_load_all((COMPILED / f"{name}.yaml").read_text())
    assert ours["root"]["dag"] == theirs["root"]["dag"]  # same tasks, wires and bindings
    assert ours["root"]["inputDefinitions"] == theirs["root"]["inputDefinitions"]  # same parameters
    assert ours == theirs  # and everything else: components, executors, description
    assert our_platform == their_platform  # the tracking identity's env, per task


def test_a_template_keeps_display_names_and_pipeline_parameters():
    graph = templates.open_template("distill")
    labels = {n.id: n.label for n in graph.nodes}
    assert labels["evaluate"] == "evaluate teacher" and labels["evaluate-2"] == "evaluate student"
    assert graph.node("finetune").params["epochs"] == {"pipeline_parameter": "teacher_epochs"}
    assert graph.outputs == {"Output": {"node": "export", "output": "Output"}}


def test_a_loop_becomes_a_group_whose_nodes_take_its_item():
    graph = templates.open_template("metakd")
    assert graph.groups == {"for-loop-1": {"kind": "loop", "parent": None, "items": {"pipeline_parameter": "domains"}}}
    assert graph.node("distill").group == "for-loop-1"
    assert graph.node("distill").params["domain"] == {"loop_item": "for-loop-1"}
    # The per-domain table reads every iteration's metrics, across the loop's edge.
    assert {e.source for e in graph.edges if e.target == "domain-table"} == {"evaluate", "evaluate-2"}


def test_a_condition_becomes_an_if_and_an_else():
    graph = templates.open_template("fewshot")
    kinds = {name: g["kind"] for name, g in graph.groups.items()}
    assert sorted(kinds.values()) == ["branches", "else", "if"]
    (if_group,) = [n for n, k in kinds.items() if k == "if"]
    assert graph.groups[if_group] | {"parent": None} == {"kind": "if", "parent": None, "parameter": "pretrain",
                                                         "op": "==", "value": True}
    assert graph.node("pretrain").group == if_group


def test_a_loop_item_outside_its_loop_is_a_problem():
    from nlpfactory.pipelines.studio.graph import validate

    graph = templates.open_template("metakd")
    graph.node("distill").group = None
    assert any("loop 'for-loop-1'" in s for s in validate(graph).nodes["distill"])


def test_a_drawn_graph_compiles_to_yaml_that_kfp_loads(finetune_graph):
    text = compile_graph(Graph.from_json(finetune_graph(epochs=2)))
    loaded = load_component_from_text(text)
    assert loaded.name == "my-finetune"
    tasks = next(yaml.safe_load_all(text))["root"]["dag"]["tasks"]
    assert set(tasks) == {"prepare-data", "finetune", "evaluate"}
    assert set(tasks["evaluate"]["dependentTasks"]) == {"finetune", "prepare-data"}
    assert tasks["finetune"]["inputs"]["parameters"]["epochs"] == {"runtimeValue": {"constant": 2}}


def test_a_graph_with_problems_is_not_compiled(finetune_graph):
    data = finetune_graph()
    data["edges"] = []
    with pytest.raises(InputError, match="is not connected"):
        compile_graph(Graph.from_json(data))
