from kfp import dsl
from kfp.dsl import Metrics, Model, Output

from nlpfactory.components.form import form
from nlpfactory.components.image import IMAGE
from nlpfactory.stages import backbone as stage


@dsl.component(base_image=IMAGE, install_kfp_package=False)
@form(stage)
def backbone(
    backbone: Output[Model],
    metrics: Output[Metrics],
    name: str = "zh-small",
    time_budget_minutes: float = 0.0,
    max_steps: int = 0,
    force: bool = False,
):
    from nlpfactory.components.stage import run_component

    run_component("backbone", locals())
