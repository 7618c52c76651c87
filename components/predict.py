from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output

from nlpfactory.components.form import form
from nlpfactory.components.image import IMAGE
from nlpfactory.serving.predict_file import PredictConfig


@dsl.component(base_image=IMAGE, install_kfp_package=False)
@form(PredictConfig,
      model="The model: a Model folder (any kind) or an export folder (runs on ONNX Runtime).",
      data="What to label: a Dataset folder (the chosen split) or one TSV, CSV, JSONL or Parquet file.",
      predictions="A folder with predictions.<ext>: the input's columns plus prediction and probabilities.",
      metrics="How many rows were labelled, and how many got each label.")
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
    """Label every row of a file or Dataset split with a model (batch inference, streamed)."""
    from nlpfactory.config import from_params
    from nlpfactory.serving.predict_file import PredictConfig, predict_to_folder

    cfg = from_params(PredictConfig, locals())
    result = predict_to_folder(cfg, model.path, data.path, predictions.path)
    predictions.metadata.update({"file": result.path.name, "rows": result.rows})
    metrics.log_metric("rows", result.rows)
    for label, count in result.label_counts.items():
        metrics.log_metric(f"predicted_{label}", count)
