from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output

from nlpfactory.components.form import form
from nlpfactory.components.image import IMAGE
from nlpfactory.stages import pretrain as stage


@dsl.component(base_image=IMAGE, install_kfp_package=False)
@form(stage)
def pretrain(
    pretrained_model: Output[Model],
    metrics: Output[Metrics],
    dataset: Input[Dataset] = None,
    model: str = "small",
    corpora: list = [],  # noqa: B006 - KFP reads the default from here
    splits: list = ["train"],  # noqa: B006 - KFP reads the default from here
    mask_ratio: float = 0.15,
    vocab_size: int = 8000,
    max_steps: int = 0,
    time_budget_minutes: float = 0.0,
    eval_rows: int = 200,
    eval_every_steps: int = 0,
    epochs: int = 3,
    batch_size: int = 32,
    learning_rate: float = 0.0005,
    weight_decay: float = 0.01,
    warmup_ratio: float = 0.1,
    grad_accum_steps: int = 1,
    max_grad_norm: float = 1.0,
    max_length: int = 128,
    early_stopping_patience: int = 2,
    checkpoint_every_steps: int = 200,
    seed: int = 42,
    precision: str = "auto",
):
    from nlpfactory.components.stage import run_component

    run_component("pretrain", locals())
