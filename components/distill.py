from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output

from nlpfactory.components.form import form
from nlpfactory.components.image import IMAGE
from nlpfactory.distill.config import DistillConfig


@dsl.component(base_image=IMAGE, install_kfp_package=False)
@form(DistillConfig,
      dataset="The prepared Dataset (train rows to learn from, dev rows to pick the best epoch).",
      teacher="The teacher Model folder (a meta-teacher for method metakd); it is not changed.",
      student_model="The distilled student: a plain classifier Model folder with the teacher's tokenizer.",
      metrics="The student's dev scores, its parameter count and the teacher's.")
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
    alpha: float = 0.5,
    use_stored_logits: bool = True,
    intermediate: bool = False,
    layer_map: str = "uniform",
    feature_loss_weight: float = 0.5,
    stage1_epochs: int = 10,
    stage1_learning_rate: float = 5e-5,
    stage2_epochs: int = 3,
    stage2_learning_rate: float = 3e-5,
    weight_prediction: bool = False,
    hard_label_weight: float = 0.0,
    metric: str = "accuracy",
    epochs: int = 3,
    batch_size: int = 32,
    learning_rate: float = 5e-5,
    weight_decay: float = 0.01,
    warmup_ratio: float = 0.1,
    grad_accum_steps: int = 1,
    max_grad_norm: float = 1.0,
    max_length: int = 128,
    early_stopping_patience: int = 2,
    checkpoint_every_steps: int = 200,
    seed: int = 42,
    pipeline_name: str = "",
    pipeline_run_id: str = "",
):
    """Distill a small student from a frozen teacher: vanilla KD or MetaKD, optionally for one domain."""
    from nlpfactory.config import from_params
    from nlpfactory.distill.config import DistillConfig
    from nlpfactory.distill.run import distill

    cfg = from_params(DistillConfig, locals())
    result = distill(cfg, dataset.path, teacher.path, student_model.path, pipeline=pipeline_name,
                     pipeline_run_id=pipeline_run_id)
    student_model.metadata.update({"method": method, "domain": domain, "parameters": result.parameters})
    for name, value in result.metrics().items():
        metrics.log_metric(name, value)
