from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output

from nlpfactory.components.form import form
from nlpfactory.components.image import IMAGE
from nlpfactory.stages import finetune as stage


@dsl.component(base_image=IMAGE, install_kfp_package=False)
@form(stage)
def finetune(
    dataset: Input[Dataset],
    trained_model: Output[Model],
    metrics: Output[Metrics],
    model: str = "auto",
    vocab_size: int = 8000,
    metric: str = "accuracy",
    nproc_per_node: int = 1,
    nodes: int = 1,
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

    run_component("finetune", locals())
