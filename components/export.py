from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output

from nlpfactory.components.form import form
from nlpfactory.components.image import IMAGE
from nlpfactory.stages import export as stage


@dsl.component(base_image=IMAGE, install_kfp_package=False)
@form(stage)
def export(
    model: Input[Model],
    exported_model: Output[Model],
    metrics: Output[Metrics],
    dataset: Input[Dataset] = None,
    quantize: bool = True,
    opset: int = 17,
    verify: bool = True,
    tolerance: float = 0.0001,
    max_int8_accuracy_drop: float = 1.0,
    register_name: str = "",
    alias: str = "candidate",
    kserve_runtime: str = "nlpfactory",
    storage_uri: str = "",
) -> str:
    from nlpfactory.components.stage import run_component

    return run_component("export", locals()).value
