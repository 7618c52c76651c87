from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output

from nlpfactory.components.form import form
from nlpfactory.components.image import IMAGE
from nlpfactory.distill.config import MetaTeacherConfig


@dsl.component(base_image=IMAGE, install_kfp_package=False)
@form(MetaTeacherConfig,
      dataset="The prepared multi-domain Dataset (a domain column with at least two domains).",
      meta_teacher="The meta-teacher Model folder: a classifier plus its domain branch and the rows' prototype scores.",
      metrics="Dev scores of the best epoch, parameter count and each domain's mean prototype score.")
def meta_teacher(
    dataset: Input[Dataset],
    meta_teacher: Output[Model],
    metrics: Output[Metrics],
    learning_rate: float = 1e-4,
    model: str = "auto",
    vocab_size: int = 8000,
    prototype: str = "class",
    domain_loss_weight: float = 0.5,
    domain_dropout: float = 0.1,
    metric: str = "accuracy",
    epochs: int = 3,
    batch_size: int = 32,
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
    """Train a MetaKD meta-teacher on all domains at once, for per-domain students to learn from."""
    from nlpfactory.config import from_params
    from nlpfactory.distill.config import MetaTeacherConfig
    from nlpfactory.distill.meta_teacher import train_meta_teacher

    cfg = from_params(MetaTeacherConfig, locals())
    result = train_meta_teacher(cfg, dataset.path, meta_teacher.path, pipeline=pipeline_name,
                                pipeline_run_id=pipeline_run_id)
    meta_teacher.metadata.update({"base_model": model, "parameters": result.parameters,
                                  "domains": list(result.mean_prototype_score)})
    for name, value in result.dev_metrics.items():
        metrics.log_metric(f"dev_{name}", value)
    metrics.log_metric("parameters", result.parameters)
    for domain, score in result.mean_prototype_score.items():
        metrics.log_metric(f"prototype_score_{domain}", score)
