from kfp import dsl
from kfp.dsl import Dataset, Input, Markdown, Metrics, Model, Output

from nlpfactory.components.form import form
from nlpfactory.components.image import IMAGE
from nlpfactory.stages import compare as stage


@dsl.component(base_image=IMAGE, install_kfp_package=False)
@form(stage)
def compare(
    teacher: Input[Model],
    student: Input[Model],
    dataset: Input[Dataset],
    teacher_metrics: Input[Metrics],
    student_metrics: Input[Metrics],
    report: Output[Markdown],
    metrics: Output[Metrics],
    latency_samples: int = 50,
    split: str = "test",
):
    from nlpfactory.components.stage import run_component

    run_component("compare", locals())
