from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output

from nlpfactory.components.form import form
from nlpfactory.components.image import IMAGE
from nlpfactory.pretrain import PretrainConfig


@dsl.component(base_image=IMAGE, install_kfp_package=False)
@form(PretrainConfig,
      dataset="Optional Dataset whose text (the splits chosen in `splits`) is pretrained on.",
      pretrained_model="The pretrained Model folder with an MLM head; every stage accepts it as its model.",
      metrics="Final MLM loss and accuracy (and before training), steps and training time.")
def pretrain(
    pretrained_model: Output[Model],
    metrics: Output[Metrics],
    dataset: Input[Dataset] = None,
    model: str = "small",
    corpora: list = [],  # noqa: B006 - KFP reads the default from the signature
    splits: list = ["train"],  # noqa: B006 - KFP reads the default from the signature
    mask_ratio: float = 0.15,
    vocab_size: int = 8000,
    max_steps: int = 0,
    time_budget_minutes: float = 0.0,
    eval_rows: int = 200,
    eval_every_steps: int = 0,
    epochs: int = 3,
    batch_size: int = 32,
    learning_rate: float = 5e-4,
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
    """Teach a model the language with whole-word masked-LM training on unlabelled text."""
    from nlpfactory.config import from_params
    from nlpfactory.pretrain import PretrainConfig, pretrain

    cfg = from_params(PretrainConfig, locals())
    result = pretrain(cfg, pretrained_model.path, [dataset.path] if dataset is not None else [],
                      pipeline=pipeline_name, pipeline_run_id=pipeline_run_id)
    pretrained_model.metadata.update({"base_model": model, "parameters": result.parameters, "kind": "mlm"})
    for name, value in result.metrics.items():
        metrics.log_metric(name, value)
    metrics.log_metric("parameters", result.parameters)
