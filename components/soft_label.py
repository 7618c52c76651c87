from kfp import dsl
from kfp.dsl import Dataset, Input, Model, Output

from nlpfactory.components.form import form
from nlpfactory.components.image import IMAGE
from nlpfactory.distill.config import SoftLabelConfig


@dsl.component(base_image=IMAGE, install_kfp_package=False)
@form(SoftLabelConfig,
      dataset="The Dataset to label (e.g. augmented rows).",
      teacher="The teacher Model folder whose logits become the soft labels.",
      labelled="The same Dataset with the teacher's logits in a logits column.")
def soft_label(
    dataset: Input[Dataset],
    teacher: Input[Model],
    labelled: Output[Dataset],
    splits: list = ["train"],  # noqa: B006 - KFP takes defaults from the signature
    batch_size: int = 64,
    pipeline_name: str = "",
    pipeline_run_id: str = "",
):
    """Write the teacher's logits into the Dataset, so a student can learn from them without the teacher."""
    from nlpfactory.config import from_params
    from nlpfactory.distill.config import SoftLabelConfig
    from nlpfactory.distill.soft_labels import write_soft_labels

    cfg = from_params(SoftLabelConfig, locals())
    counts = write_soft_labels(cfg, dataset.path, teacher.path, labelled.path, pipeline=pipeline_name,
                               pipeline_run_id=pipeline_run_id)
    labelled.metadata.update({"soft_labels": counts})
