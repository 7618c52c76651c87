from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output

from nlpfactory.augment.run import AugmentConfig
from nlpfactory.components.form import form
from nlpfactory.components.image import IMAGE


@dsl.component(base_image=IMAGE, install_kfp_package=False)
@form(AugmentConfig,
      dataset="The Dataset whose train split is augmented (dev and test are copied unchanged).",
      augmented="The augmented Dataset: originals and copies, each copy's source_id naming its original.",
      metrics="Rows before and after, copies made and copies the teacher filter dropped.",
      mlm_model="For method mlm: a Model folder with an MLM head (e.g. the pretrain step's output) that refills the masked words.",
      teacher="Optional classifier used as the teacher filter (takes the place of teacher_filter).")
def augment_data(
    dataset: Input[Dataset],
    augmented: Output[Dataset],
    metrics: Output[Metrics],
    mlm_model: Input[Model] = None,
    teacher: Input[Model] = None,
    method: str = "mlm",
    expansion: int = 10,
    mask_ratio: float = 0.25,
    eda_operations: list = ["word_swap", "word_delete", "word_insert",  # noqa: B006 - KFP reads
                            "char_swap", "char_delete", "char_insert"],  # the default from here
    top_k: int = 20,
    teacher_filter: str = "",
    keep_original: bool = True,
    max_length: int = 128,
    seed: int = 42,
    pipeline_name: str = "",
    pipeline_run_id: str = "",
):
    """Make a larger training set: each row gets augmented copies with the same label."""
    from nlpfactory.augment.run import AugmentConfig, augment_dataset
    from nlpfactory.config import from_params

    cfg = from_params(AugmentConfig, locals())
    filter_model = None
    if teacher is not None:
        from nlpfactory.predictor import load_predictor

        filter_model = load_predictor(teacher.path)
    result = augment_dataset(cfg, dataset.path, augmented.path,
                             mlm_model=mlm_model.path if mlm_model is not None else None,
                             teacher=filter_model, pipeline=pipeline_name, pipeline_run_id=pipeline_run_id)
    augmented.metadata.update({"method": method, "train_rows": int(result.metrics["train_rows"])})
    for name, value in result.metrics.items():
        metrics.log_metric(name, value)
