from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output

from nlpfactory.components.form import form
from nlpfactory.components.image import IMAGE
from nlpfactory.stages import predict as stage


@dsl.component(base_image=IMAGE, install_kfp_package=False)
@form(stage)
def predict(
    model: Input[Model],
    data: Input[Dataset],
    predictions: Output[Dataset],
    metrics: Output[Metrics],
    batch_size: int = 64,
    text_column: str = "text",
    text_b_column: str = "",
    split: str = "test",
    precision: str = "auto",
    device: str = "auto",
    encoding: str = "utf-8",
):
    from nlpfactory.components.stage import run_component

    run_component("predict", locals())
