from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output

from nlpfactory.components.form import form
from nlpfactory.components.image import IMAGE
from nlpfactory.stages import distill as stage


@dsl.component(base_image=IMAGE, install_kfp_package=False)
@form(stage)
def distill(
    dataset: Input[Dataset],
    teacher: Input[Model],
    student_model: Output[Model],
    metrics: Output[Metrics],
    method: str = "vanilla",
    domain: str = "",
    student: str = "auto",
    student_init: str = "random",
    temperature: float = 2.0,
    soft_loss: str = "kl",
    alpha: float = 0.5,
    use_stored_logits: bool = True,
    intermediate: bool = False,
    layer_map: str = "uniform",
    feature_loss_weight: float = 0.5,
    stage1_epochs: int = 10,
    stage1_learning_rate: float = 0.0005,
    stage2_epochs: int = 3,
    stage2_learning_rate: float = 0.0005,
    weight_prediction: bool = False,
    hard_label_weight: float = 0.0,
    metric: str = "accuracy",
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

    run_component("distill", locals())
