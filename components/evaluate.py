from kfp import dsl
from kfp.dsl import ClassificationMetrics, Dataset, Input, Markdown, Metrics, Model, Output

from nlpfactory.components.form import form
from nlpfactory.components.image import IMAGE
from nlpfactory.stages import evaluate as stage


@dsl.component(base_image=IMAGE, install_kfp_package=False)
@form(stage)
def evaluate(
    model: Input[Model],
    dataset: Input[Dataset],
    metrics: Output[Metrics],
    confusion: Output[ClassificationMetrics],
    report: Output[Markdown],
    split: str = "test",
    model_name: str = "",
    batch_size: int = 64,
    domain: str = "",
):
    from nlpfactory.components.stage import run_component

    run_component("evaluate", locals())
