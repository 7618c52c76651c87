"""backbone: pretrain a Chinese backbone (zh-small or zh-tiny) on the zh-pretrain corpus, or
reuse the one cached on the machine that runs the step; its Model output is what every
recipe's `model` (or `student`) accepts."""

from kfp import dsl

from nlpfactory.components.backbone import backbone
from nlpfactory.components.form import form
from nlpfactory.pipelines.identity import identify_tasks
from nlpfactory.stages.backbone import BackboneConfig

NAME = "backbone"


@dsl.pipeline(name=NAME)
@form(BackboneConfig)
def backbone_pipeline(
    name: str = "zh-small",
    time_budget_minutes: float = 0.0,
    max_steps: int = 0,
    force: bool = False,
    nproc_per_node: int = 1,
    nodes: int = 1,
):
    """Build a pretrained Chinese backbone: the zh-pretrain corpus (benchmark dev/test texts
    kept out), a BERT-Chinese-layout vocabulary, masked-LM with whole-word masking."""
    backbone(name=name, time_budget_minutes=time_budget_minutes, max_steps=max_steps, force=force,
             nproc_per_node=nproc_per_node, nodes=nodes)
    identify_tasks(NAME)
