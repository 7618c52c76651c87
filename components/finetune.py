from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output

from nlpfactory.components.form import form
from nlpfactory.components.image import IMAGE
from nlpfactory.finetune import FinetuneConfig


@dsl.component(base_image=IMAGE, install_kfp_package=False)
@form(FinetuneConfig,
      dataset="The prepared Dataset (train and dev splits are used).",
      trained_model="The fine-tuned Model folder (loads with transformers' from_pretrained).",
      metrics="Dev-split scores of the best epoch, parameter count and training speed.")
def finetune(
    dataset: Input[Dataset],
    trained_model: Output[Model],
    metrics: Output[Metrics],
    model: str = "auto",
    vocab_size: int = 8000,
    metric: str = "accuracy",
    nproc_per_node: int = 1,
    epochs: int = 3,
    batch_size: int = 32,
    learning_rate: float = 1e-4,
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
    """Fine-tune a model into a classifier: the teacher of the distillation recipes."""
    from nlpfactory.config import from_params
    from nlpfactory.finetune import FinetuneConfig, finetune

    cfg = from_params(FinetuneConfig, locals())
    result = finetune(cfg, dataset.path, trained_model.path, pipeline=pipeline_name, pipeline_run_id=pipeline_run_id)
    trained_model.metadata.update({"base_model": model, "parameters": result.parameters})
    for name, value in result.dev_metrics.items():
        metrics.log_metric(f"dev_{name}", value)
    metrics.log_metric("parameters", result.parameters)
    metrics.log_metric("train_samples_per_second", round(result.fit.samples_per_second, 2))
