from kfp import dsl
from kfp.dsl import Input, Markdown, Metrics, Output

from nlpfactory.components.form import form
from nlpfactory.components.image import IMAGE
from nlpfactory.stages import domain_table as stage


@dsl.component(base_image=IMAGE, install_kfp_package=False)
@form(stage)
def domain_table(
    teacher_metrics: Input[list[Metrics]],
    student_metrics: Input[list[Metrics]],
    report: Output[Markdown],
    metrics: Output[Metrics],
    domains: list,
    metric: str = "accuracy",
):
    from nlpfactory.components.stage import run_component

    run_component("domain_table", locals())
