"""prepare_data → (pretrain) → fewshot → evaluate: a classifier from K labelled rows per class.

The K-shot draw happens inside the fewshot task (seeded), so the test split stays whole for
evaluation. With `pretrain` on, the backbone first learns the language from the Dataset's
training text (labels unread) with masked-LM training.
"""

from kfp import dsl

from nlpfactory.components.evaluate import evaluate
from nlpfactory.components.fewshot import fewshot
from nlpfactory.components.form import form
from nlpfactory.components.prepare_data import prepare_data
from nlpfactory.components.pretrain import pretrain as pretrain_op
from nlpfactory.fewshot.config import FewshotConfig
from nlpfactory.pipelines.data_options import DATA_OPTIONS, with_data_options
from nlpfactory.pipelines.identity import identify_tasks
from nlpfactory.stages.prepare_data import PrepareConfig

NAME = "fewshot"


@dsl.pipeline(name=NAME)
@form(PrepareConfig, FewshotConfig,
      pretrain="First teach the backbone the language with masked-LM training on the Dataset's text (labels unread).",
      pretrain_epochs="Passes over the text when pretraining the backbone.")
@with_data_options(*DATA_OPTIONS, "max_rows")
def fewshot_pipeline(
    data: dict,
    model: str = "auto",
    pretrain: bool = False,
    pretrain_epochs: int = 3,
    method: str = "cptuning",
    shots_per_class: int = 16,
    pattern: str = "{text}。总之很{mask}。",
    verbalizer: dict = {},  # noqa: B006 - KFP reads the default from the signature
    epochs: int = 30,
    batch_size: int = 16,
    learning_rate: float = 5e-5,
    prompt_learning_rate: float = 5e-4,
    max_length: int = 128,
    seed: int = 42,
    nproc_per_node: int = 1,
    nodes: int = 1,
):
    """Prepare a dataset, optionally pretrain the backbone on its text, prompt-tune it on K
    labelled rows per class, and evaluate it on the test split."""
    prepared = prepare_data(**data, seed=seed)
    options = dict(dataset=prepared.outputs["dataset"], model=model, method=method, shots_per_class=shots_per_class,
                   dev_shots_per_class=shots_per_class, pattern=pattern, verbalizer=verbalizer, epochs=epochs,
                   batch_size=batch_size, learning_rate=learning_rate, prompt_learning_rate=prompt_learning_rate,
                   max_length=max_length, seed=seed,
                   nproc_per_node=nproc_per_node, nodes=nodes)
    # Two branches, each ending in its own evaluate: a task's input can't come from either branch.
    with dsl.If(pretrain == True):  # noqa: E712 - a KFP condition, not a Python comparison
        learned = pretrain_op(dataset=prepared.outputs["dataset"], model=model, epochs=pretrain_epochs,
                              max_length=max_length, seed=seed, nproc_per_node=nproc_per_node, nodes=nodes)
        tuned = fewshot(backbone=learned.outputs["pretrained_model"], **options)
        evaluate(model=tuned.outputs["trained_model"], dataset=prepared.outputs["dataset"], model_name="model")
    with dsl.Else():
        tuned = fewshot(**options)
        evaluate(model=tuned.outputs["trained_model"], dataset=prepared.outputs["dataset"], model_name="model")
    identify_tasks(NAME)
