from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output

from nlpfactory.components.form import form
from nlpfactory.components.image import IMAGE
from nlpfactory.fewshot.config import FewshotConfig


@dsl.component(base_image=IMAGE, install_kfp_package=False)
@form(FewshotConfig,
      dataset="The prepared Dataset: K rows per class are drawn from its train split (and dev, to pick the best epoch).",
      backbone="Optional Model folder with a masked-LM head (e.g. the pretrain output); when given it replaces `model`.",
      trained_model="The prompt-tuned Model folder; predicts like any classifier (nlpfactory predict, evaluate).",
      metrics="Dev accuracy on the K-shot dev rows, parameter count and training rows.")
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
    pattern: str = "{text}。总之很{mask}。",
    verbalizer: dict = {},  # noqa: B006 - KFP reads the default from the signature
    pet_mask_strategy: str = "mean",
    prompt_length: int = 4,
    prompt_encoder: str = "lstm",
    prompt_learning_rate: float = 5e-4,
    prompt_count: int = 2,
    prompt_init_phrase: str = "总之",
    margin: float = 0.4,
    scale: float = 64.0,
    positive_cost: float = 1.0,
    mlm_weight: float = 0.1,
    mlm_mask_ratio: float = 0.15,
    predict: str = "mean",
    epochs: int = 30,
    batch_size: int = 16,
    learning_rate: float = 5e-5,
    weight_decay: float = 0.01,
    warmup_ratio: float = 0.1,
    grad_accum_steps: int = 1,
    max_grad_norm: float = 1.0,
    max_length: int = 128,
    early_stopping_patience: int = 0,
    checkpoint_every_steps: int = 200,
    seed: int = 42,
    pipeline_name: str = "",
    pipeline_run_id: str = "",
):
    """Learn a classifier from a few labelled rows per class by prompt learning (PET, P-Tuning or CP-Tuning)."""
    from nlpfactory.config import from_params
    from nlpfactory.fewshot.config import FewshotConfig
    from nlpfactory.fewshot.train import fewshot

    params = dict(locals())
    if backbone is not None:
        params["model"] = backbone.path
    cfg = from_params(FewshotConfig, params)
    result = fewshot(cfg, dataset.path, trained_model.path, pipeline=pipeline_name, pipeline_run_id=pipeline_run_id)
    trained_model.metadata.update({"kind": method, "base_model": cfg.model, "parameters": result.parameters})
    for name, value in result.dev_metrics.items():
        metrics.log_metric(f"dev_{name}", value)
    metrics.log_metric("parameters", result.parameters)
    metrics.log_metric("train_rows", result.train_rows)
