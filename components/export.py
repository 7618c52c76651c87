from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output

from nlpfactory.components.form import form
from nlpfactory.components.image import IMAGE
from nlpfactory.serving.export import ExportConfig


@dsl.component(base_image=IMAGE, install_kfp_package=False)
@form(ExportConfig,
      model="The Model folder to export (a classifier, e.g. the distilled student).",
      exported_model="The export folder: model.onnx, model.int8.onnx, tokenizer, nlpfactory.json and a KServe manifest.",
      metrics="The export checks: ONNX vs PyTorch logit difference, file sizes, fp32 and int8 dev accuracy.",
      dataset="Optional Dataset whose dev split checks that int8 keeps the fp32 accuracy.")
def export(
    model: Input[Model],
    exported_model: Output[Model],
    metrics: Output[Metrics],
    dataset: Input[Dataset] = None,
    quantize: bool = True,
    opset: int = 17,
    verify: bool = True,
    tolerance: float = 1e-4,
    max_int8_accuracy_drop: float = 1.0,
    register_name: str = "",
    alias: str = "candidate",
    kserve_runtime: str = "nlpfactory",
    storage_uri: str = "",
    pipeline_name: str = "",
    pipeline_run_id: str = "",
) -> str:
    """Export a classifier for serving (ONNX fp32 + int8, KServe manifest), check it, and
    register it in MLflow when a name is given. Returns models:/NAME@ALIAS, or "" when not registered."""
    from nlpfactory.config import from_params
    from nlpfactory.serving.export import ExportConfig, export

    cfg = from_params(ExportConfig, locals())
    if not cfg.storage_uri:  # on a cluster the output artifact's own URI is where KServe reads it
        from nlpfactory.serving.kserve import storage_uri_of

        cfg.storage_uri = storage_uri_of(exported_model.uri)
    result = export(cfg, model.path, exported_model.path, dataset.path if dataset else None,
                    pipeline=pipeline_name, pipeline_run_id=pipeline_run_id)
    exported_model.metadata.update({"registered_model": result.registered_uri, "kserve_runtime": kserve_runtime})
    for name, value in result.metrics.items():
        metrics.log_metric(name, value)
    return result.registered_uri
