import pytest


def wire(source, output, target, input_name):
    return {"source": source, "output": output, "target": target, "input": input_name}


@pytest.fixture
def finetune_graph():
    """prepare → finetune → evaluate, as the page would send it."""
    def make(data_source="reviews.tsv", **finetune_params):
        return {
            "name": "my-finetune",
            "nodes": [
                {"id": "prepare-data", "component": "prepare-data", "params": {"data_source": str(data_source)}},
                {"id": "finetune", "component": "finetune", "params": finetune_params},
                {"id": "evaluate", "component": "evaluate", "params": {}},
            ],
            "edges": [wire("prepare-data", "dataset", "finetune", "dataset"),
                      wire("prepare-data", "dataset", "evaluate", "dataset"),
                      wire("finetune", "trained_model", "evaluate", "model")],
        }
    return make
