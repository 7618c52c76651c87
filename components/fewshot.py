from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output

from nlpfactory.components.form import form
from nlpfactory.components.image import IMAGE
from nlpfactory.stages import fewshot as stage


@dsl.component(base_image=IMAGE, install_kfp_package=False)
@form(stage)
def fewshot(
    dataset: Input[Dataset],
    trained_model: Output[Model],
    metrics: Output[Metrics],
    backbone: Input[Model] = None,
    model: str = "auto",
    vocab_size: int = 8000,
    method: str = "cptuning",
    shots_per_class: int = 16,
    dev_shots_per_class: int = 16,
    pattern: str = "{text}\u3002\u603b\u4e4b\u5f88{mask}\u3002",
    verbalizer: dict = {},  # noqa: B006 - KFP reads the default from here
    pet_mask_strategy: str = "mean",
    prompt_length: int = 4,
    prompt_encoder: str = "lstm",
    prompt_learning_rate: float = 0.0005,
    prompt_count: int = 2,
    prompt_init_phrase: str = "\u603b\u4e4b",
    margin: float = 0.4,
    scale: float = 64.0,
    positive_cost: float = 1.0,
    mlm_weight: float = 0.1,
    mlm_mask_ratio: float = 0.15,
    predict: str = "mean",
    epochs: int = 30,
    batch_size: int = 16,
    learning_rate: float = 5e-05,
    weight_decay: float = 0.01,
    warmup_ratio: float = 0.1,
    grad_accum_steps: int = 1,
    max_grad_norm: float = 1.0,
    max_length: int = 128,
    early_stopping_patience: int = 0,
    checkpoint_every_steps: int = 200,
    seed: int = 42,
    precision: str = "auto",
):
    from nlpfactory.components.stage import run_component

    run_component("fewshot", locals())
