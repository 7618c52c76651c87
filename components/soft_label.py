from kfp import dsl
from kfp.dsl import Dataset, Input, Model, Output

from nlpfactory.components.form import form
from nlpfactory.components.image import IMAGE
from nlpfactory.stages import soft_label as stage


@dsl.component(base_image=IMAGE, install_kfp_package=False)
@form(stage)
def soft_label(
    dataset: Input[Dataset],
    teacher: Input[Model],
    labelled: Output[Dataset],
    splits: list = ["train"],  # noqa: B006 - KFP reads the default from here
    batch_size: int = 64,
):
    from nlpfactory.components.stage import run_component

    run_component("soft_label", locals())
