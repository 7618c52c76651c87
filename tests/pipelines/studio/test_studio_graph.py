"""Graph checks before compiling or running: wire types, missing inputs, cycles, values."""

from conftest import wire

from nlpfactory.pipelines.studio.graph import Graph, validate


def problems_of(data):
    return validate(Graph.from_json(data)).to_json()


def test_a_complete_graph_has_no_problems(finetune_graph):
    assert problems_of(finetune_graph()) == {"ok": True, "nodes": {}, "graph": []}


def test_a_model_wired_into_a_dataset_input_is_refused_with_the_types(finetune_graph):
    data = finetune_graph()
    data["edges"][2] = wire("finetune", "trained_model", "evaluate", "dataset")
    said = problems_of(data)["nodes"]["evaluate"]
    assert any("trained_model is a Model but evaluate.dataset takes a Dataset" in s for s in said)
    assert any("input 'model' (Model) is not connected" in s for s in said)


def test_a_missing_input_is_shown_on_its_node(finetune_graph):
    data = finetune_graph()
    data["edges"] = data["edges"][:1]
    said = problems_of(data)
    assert said["nodes"] == {"evaluate": ["input 'dataset' (Dataset) is not connected",
                                          "input 'model' (Model) is not connected"]}


def test_a_cycle_is_shown_on_every_node_in_it(finetune_graph):
    data = finetune_graph()
    data["nodes"].append({"id": "augment", "component": "augment-data", "params": {}})
    data["edges"] = [wire("prepare-data", "dataset", "augment", "dataset"),
                     wire("augment", "augmented", "finetune", "dataset"),  # finetune learns from augment,
                     wire("finetune", "trained_model", "augment", "teacher"),  # which filters with finetune
                     wire("prepare-data", "dataset", "evaluate", "dataset"),
                     wire("finetune", "trained_model", "evaluate", "model")]
    said = problems_of(data)["nodes"]
    assert set(said) == {"augment", "finetune"}
    assert all(any("cycle" in s for s in said[n]) for n in said)


def test_unset_required_parameter_and_wrong_values_are_named(finetune_graph):
    data = finetune_graph(epochs="three", metric="recall")
    data["nodes"].append({"id": "table", "component": "domain-table", "params": {}})
    said = problems_of(data)["nodes"]
    assert "parameter 'epochs': 'three' is not whole number" in said["finetune"]
    assert "parameter 'metric': 'recall' is not one of accuracy, macro_f1" in said["finetune"]
    assert "parameter 'domains' is required: give it a value" in said["table"]


def test_unknown_component_and_bad_name_are_reported(finetune_graph):
    data = finetune_graph()
    data["name"] = "My Pipeline"
    data["nodes"][0]["component"] = "prepare-everything"
    said = problems_of(data)
    assert said["nodes"]["prepare-data"] == ["unknown component 'prepare-everything'"]
    assert any("lowercase" in s for s in said["graph"])
