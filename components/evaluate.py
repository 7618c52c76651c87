from kfp import dsl
from kfp.dsl import ClassificationMetrics, Dataset, Input, Markdown, Metrics, Model, Output

from nlpfactory.components.form import form
from nlpfactory.components.image import IMAGE
from nlpfactory.evaluate import EvaluateConfig


@dsl.component(base_image=IMAGE, install_kfp_package=False)
@form(EvaluateConfig,
      model="The Model folder to score.",
      dataset="The Dataset whose split is scored.",
      metrics="Accuracy, macro-F1, per-class F1 and per-domain accuracy.",
      confusion="The confusion matrix, shown as a chart in the Kubeflow UI.",
      report="A readable report: per-class and per-domain tables and the confusion matrix.")
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
    pipeline_name: str = "",
    pipeline_run_id: str = "",
):
    """Score a model on a Dataset split and write metrics, a confusion matrix and a report."""
    from nlpfactory.config import from_params
    from nlpfactory.evaluate import EvaluateConfig, evaluate

    cfg = from_params(EvaluateConfig, locals())
    result = evaluate(cfg, model.path, dataset.path, pipeline=pipeline_name, pipeline_run_id=pipeline_run_id)
    for name, value in result.scalars().items():
        metrics.log_metric(name, value)
    confusion.log_confusion_matrix(result.labels, result.metrics["confusion_matrix"])
    with open(report.path, "w", encoding="utf-8") as f:
        f.write(result.report)
