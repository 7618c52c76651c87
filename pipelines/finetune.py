"""prepare_data → finetune → evaluate → export: the first block of every recipe, and a baseline."""

from kfp import dsl

from nlpfactory.components.evaluate import evaluate
from nlpfactory.components.export import export
from nlpfactory.components.finetune import finetune
from nlpfactory.components.form import form
from nlpfactory.components.prepare_data import prepare_data
from nlpfactory.pipelines.data_options import DATA_OPTIONS, with_data_options
from nlpfactory.pipelines.identity import identify_tasks
from nlpfactory.stages.finetune import FinetuneConfig
from nlpfactory.stages.prepare_data import PrepareConfig

NAME = "finetune"


@dsl.pipeline(name=NAME)
@form(PrepareConfig, FinetuneConfig,
      model="Model to start from: auto (the cached zh-small backbone, else the small preset from scratch), a preset (tiny, small, base), a Model folder, or a hub id such as hfl/rbt3.",
      seed="Random seed for the split and the training: the same seed gives the same model.",
      register_name="Register the exported model in the MLflow model registry under this name (empty: do not register).")
@with_data_options(*DATA_OPTIONS, "domain_col", "task", "format", "max_rows")
def finetune_pipeline(
    data: dict,
    model: str = "auto",
    epochs: int = 3,
    batch_size: int = 32,
    learning_rate: float = 0.0,
    max_length: int = 128,
    seed: int = 42,
    nproc_per_node: int = 1,
    nodes: int = 1,
    register_name: str = "nlpfactory-finetune",
) -> str:
    """Prepare a dataset, fine-tune a classifier (or, for sequence labeling, a tagger) on it, evaluate it on the test split, and
    export it for serving (ONNX fp32 + int8, KServe manifest, MLflow registry)."""
    prepared = prepare_data(**data, seed=seed)
    trained = finetune(dataset=prepared.outputs["dataset"], model=model, epochs=epochs, batch_size=batch_size,
                       learning_rate=learning_rate, max_length=max_length, seed=seed,
                       nproc_per_node=nproc_per_node, nodes=nodes)
    evaluate(model=trained.outputs["trained_model"], dataset=prepared.outputs["dataset"], model_name="model")
    exported = export(model=trained.outputs["trained_model"], dataset=prepared.outputs["dataset"],
                      register_name=register_name)
    identify_tasks(NAME)
    return exported.outputs["Output"]
