from kfp import dsl
from kfp.dsl import Metrics, Model, Output

from nlpfactory.backbones import BackboneConfig
from nlpfactory.components.form import form
from nlpfactory.components.image import IMAGE


@dsl.component(base_image=IMAGE, install_kfp_package=False)
@form(BackboneConfig,
      backbone="The pretrained backbone: a Model folder with an MLM head that every stage accepts as its model.",
      metrics="Held-out MLM accuracy and perplexity, steps and training time.")
def backbone(
    backbone: Output[Model],
    metrics: Output[Metrics],
    name: str = "zh-small",
    time_budget_minutes: float = 0.0,
    max_steps: int = 0,
    force: bool = False,
    pipeline_name: str = "",
    pipeline_run_id: str = "",
):
    """Pretrain a Chinese backbone on the zh-pretrain corpus (masked-LM, whole-word masking), or reuse the cached one."""
    from nlpfactory.backbones import BackboneConfig, build_into
    from nlpfactory.config import from_params

    card = build_into(from_params(BackboneConfig, locals()), backbone.path)
    backbone.metadata.update({"backbone": card["backbone"]["name"], "key": card["backbone"]["key"],
                              "parameters": card["parameters"], "kind": "mlm"})
    for key, value in card["mlm_metrics"].items():
        if isinstance(value, (int, float)):
            metrics.log_metric(key, value)
    metrics.log_metric("parameters", card["parameters"])
