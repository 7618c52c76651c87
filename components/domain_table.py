from kfp import dsl
from kfp.dsl import Input, Markdown, Metrics, Output

from nlpfactory.components.form import form
from nlpfactory.components.image import IMAGE
from nlpfactory.distill.compare import DomainTableConfig


@dsl.component(base_image=IMAGE, install_kfp_package=False)
@form(DomainTableConfig,
      domains="The domains, in the order the per-domain results were collected.",
      teacher_metrics="The meta-teacher's evaluation on each domain's test rows (collected from the loop).",
      student_metrics="Each domain student's evaluation on its domain's test rows (collected from the loop).",
      report="The per-domain table: teacher, student and the share the student keeps.",
      metrics="The same numbers, per domain and averaged.")
def domain_table(
    domains: list,
    teacher_metrics: Input[list[Metrics]],
    student_metrics: Input[list[Metrics]],
    report: Output[Markdown],
    metrics: Output[Metrics],
    metric: str = "accuracy",
    pipeline_name: str = "",
    pipeline_run_id: str = "",
):
    """Tabulate each domain's teacher and student scores and how much of the teacher the student keeps."""
    from nlpfactory.config import from_params
    from nlpfactory.distill.compare import DomainTableConfig, domain_table

    cfg = from_params(DomainTableConfig, locals())
    result, text = domain_table(cfg, domains, [m.metadata for m in teacher_metrics],
                                [m.metadata for m in student_metrics], pipeline=pipeline_name,
                                pipeline_run_id=pipeline_run_id)
    with open(report.path, "w", encoding="utf-8") as f:
        f.write(text)
    for name, value in result["flat"].items():
        metrics.log_metric(name, value)
