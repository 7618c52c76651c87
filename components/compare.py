from kfp import dsl
from kfp.dsl import Dataset, Input, Markdown, Metrics, Model, Output

from nlpfactory.components.form import form
from nlpfactory.components.image import IMAGE
from nlpfactory.distill.compare import CompareConfig


@dsl.component(base_image=IMAGE, install_kfp_package=False)
@form(CompareConfig,
      teacher="The teacher Model folder.",
      student="The student Model folder.",
      dataset="The Dataset whose texts are timed.",
      teacher_metrics="The teacher's evaluation (its accuracy is reported).",
      student_metrics="The student's evaluation (its accuracy is reported).",
      report="The comparison table: accuracy, parameters, size on disk and latency per sample.",
      metrics="The same numbers, and the ratios between student and teacher.")
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
    pipeline_name: str = "",
    pipeline_run_id: str = "",
):
    """Compare a student with its teacher: how much accuracy it keeps, how much smaller and faster it is."""
    from nlpfactory.config import from_params
    from nlpfactory.distill.compare import CompareConfig, compare_models

    cfg = from_params(CompareConfig, locals())
    result, text = compare_models(cfg, teacher.path, student.path, dataset.path,
                                  teacher_metrics.metadata["accuracy"], student_metrics.metadata["accuracy"],
                                  pipeline=pipeline_name, pipeline_run_id=pipeline_run_id)
    with open(report.path, "w", encoding="utf-8") as f:
        f.write(text)
    for who in ("teacher", "student"):
        for name, value in result[who].items():
            metrics.log_metric(f"{who}_{name}", value)
    for name, value in result["ratios"].items():
        metrics.log_metric(name, value)
