from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output

from nlpfactory.components.form import form
from nlpfactory.components.image import IMAGE
from nlpfactory.stages import augment_data as stage


@dsl.component(base_image=IMAGE, install_kfp_package=False)
@form(stage)
def augment_data(
    dataset: Input[Dataset],
    augmented: Output[Dataset],
    metrics: Output[Metrics],
    mlm_model: Input[Model] = None,
    teacher: Input[Model] = None,
    method: str = "mlm",
    expansion: int = 10,
    mask_ratio: float = 0.25,
    eda_operations: list = ["word_swap", "word_delete", "word_insert", "char_swap", "char_delete", "char_insert"],  # noqa: B006 - KFP reads the default from here
    top_k: int = 20,
    teacher_filter: str = "",
    keep_original: bool = True,
    max_length: int = 128,
    seed: int = 42,
):
    from nlpfactory.components.stage import run_component

    run_component("augment_data", locals())
