"""Masked-LM pretraining on unlabelled text: a backbone every other stage accepts as its model."""

from __future__ import annotations

import dataclasses

from nlpfactory.config import option
from nlpfactory.errors import ConfigError
from nlpfactory.stages import Port, StageResult
from nlpfactory.tracking import NO_TRACKING, Tracker
from nlpfactory.train.config import TrainConfig, nodes_option, nproc_per_node_option
from nlpfactory.train.rates import auto_rate_option

SUMMARY = "Teach a model the language with whole-word masked-LM training on unlabelled text."
INPUTS = {"dataset": Port("Optional Dataset whose text (the splits chosen in `splits`) is pretrained on.", optional=True)}
OUTPUTS = {"pretrained_model": Port("The pretrained Model folder with an MLM head; every stage accepts it as its model.")}
RECORDS = {"metrics": Port("Final MLM loss and accuracy (and before training), steps and training time.", "metrics")}


@dataclasses.dataclass
class PretrainConfig(TrainConfig):
    learning_rate: float = auto_rate_option("mlm")
    model: str = option("small", "Model to start from: a preset (tiny, small, base), a local Model folder, or a hub id such as hfl/rbt3.")
    corpora: list[str] = option([], "Datahub corpus names whose text is added to the pretraining text (all of it, test rows included: the labels are never read); zh-pretrain is the cleaned Chinese corpus with every benchmark's dev/test text kept out.")
    splits: list[str] = option(["train"], "Splits of each given Dataset whose text is used (train only keeps test text out of the model).")
    mask_ratio: float = option(0.15, "Share of the tokens masked in each text, chosen as whole jieba words.")
    vocab_size: int = option(8000, "Vocabulary size learned from the pretraining text when the model is a preset (BERT-Chinese layout: specials, characters, then Latin pieces).")
    max_steps: int = option(0, "Stop after this many training steps (0: train for `epochs` full passes, or as many as the time budget allows).", least=0)
    time_budget_minutes: float = option(0.0, "Wall-clock budget of the whole stage in minutes: the step count is sized to fit and training stops when it is spent (0: no budget).", least=0)
    eval_rows: int = option(200, "Texts held out to measure the MLM loss and accuracy (at most a tenth of the text; 0: measure on training text).", least=0)
    eval_every_steps: int = option(0, "Measure held-out MLM accuracy and perplexity every this many steps and log them (0: only before and after).", least=0)
    nproc_per_node: int = nproc_per_node_option()
    nodes: int = nodes_option()

    def __post_init__(self):
        super().__post_init__()
        if not 0 < self.mask_ratio < 1:
            raise ConfigError(f"mask_ratio is {self.mask_ratio}", option="mask_ratio", fix="use a share between 0 and 1, e.g. 0.15")


Config = PretrainConfig


def run(cfg: PretrainConfig, inputs: dict, outputs: dict, tracker: Tracker = NO_TRACKING) -> StageResult:
    from nlpfactory.pretrain import pretrain

    given = [inputs["dataset"]] if inputs.get("dataset") else []
    result = pretrain(cfg, outputs["pretrained_model"], given, tracker=tracker)
    return StageResult(result.metrics | {"parameters": result.parameters},
                       {"pretrained_model": {"base_model": cfg.model, "parameters": result.parameters, "kind": "mlm"}})
