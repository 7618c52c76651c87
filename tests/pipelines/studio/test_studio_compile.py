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
DRAWABLE = ["distill", "finetune", "landing"]


@pytest.mark.parametrize("name", DRAWABLE)
def test_an_opened_template_compiles_to_the_hand_written_pipeline(name):
    graph = templates.open_template(name)
    ours = yaml.safe_load(compile_graph(graph))
    theirs = yaml.safe_load((COMPILED / f"{name}.yaml").read_text())
    assert ours["root"]["dag"] == theirs["root"]["dag"]  # same tasks, wires and bindings
    assert ours["root"]["inputDefinitions"] == theirs["root"]["inputDefinitions"]  # same parameters
    assert ours == theirs  # and everything else: components, executors, description


def test_a_template_keeps_display_names_and_pipeline_parameters():
    graph = templates.open_template("distill")
    labels = {n.id: n.label for n in graph.nodes}
    assert labels["evaluate"] == "evaluate teacher" and labels["evaluate-2"] == "evaluate student"
    assert graph.node("finetune").params["epochs"] == {"pipeline_parameter": "teacher_epochs"}
    assert graph.outputs == {"Output": {"node": "export", "output": "Output"}}


@pytest.mark.parametrize("name", ["fewshot", "metakd"])
def test_pipelines_with_loops_or_conditions_are_refused_clearly(name):
    with pytest.raises(InputError, match="loop or condition"):
        templates.open_template(name)


def test_a_drawn_graph_compiles_to_yaml_that_kfp_loads(finetune_graph):
    text = compile_graph(Graph.from_json(finetune_graph(epochs=2)))
    loaded = load_component_from_text(text)
    assert loaded.name == "my-finetune"
    tasks = yaml.safe_load(text)["root"]["dag"]["tasks"]
    assert set(tasks) == {"prepare-data", "finetune", "evaluate"}
    assert set(tasks["evaluate"]["dependentTasks"]) == {"finetune", "prepare-data"}
    assert tasks["finetune"]["inputs"]["parameters"]["epochs"] == {"runtimeValue": {"constant": 2}}


def test_a_graph_with_problems_is_not_compiled(finetune_graph):
    data = finetune_graph()
    data["edges"] = []
    with pytest.raises(InputError, match="is not connected"):
        compile_graph(Graph.from_json(data))
