import dataclasses

import pytest

from nlpfactory.config import check_options, from_params, option, parse_value
from nlpfactory.errors import ConfigError
from nlpfactory.metrics import classification_metrics


def test_metrics_match_hand_computed_values():
    # true:  0 0 0 1 1 2 ; pred: 0 0 1 1 2 2
    m = classification_metrics([0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 2, 2], ["a", "b", "c"])
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["per_class"]["a"] == {"precision": 1.0, "recall": pytest.approx(2 / 3), "f1": pytest.approx(0.8), "support": 3}
    assert m["per_class"]["b"]["precision"] == pytest.approx(0.5)
    assert m["per_class"]["c"]["f1"] == pytest.approx(2 / 3)
    assert m["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert m["confusion_matrix"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]


@dataclasses.dataclass
class Demo:
    epochs: int = option(3, "passes")
    rate: float = option(0.1, "rate")
    names: list = option([], "names")


def test_from_params_keeps_config_fields_and_fixes_kfp_floats():
    cfg = from_params(Demo, {"epochs": 2.0, "rate": 1, "other": "x", "names": ["a"]})
    assert cfg == Demo(epochs=2, rate=1.0, names=["a"]) and isinstance(cfg.epochs, int)


def test_parse_value_by_type():
    assert parse_value("true", bool) is True and parse_value("3", int) == 3
    assert parse_value("a,b", list) == ["a", "b"] and parse_value('{"x": 1}', dict) == {"x": 1}
    with pytest.raises(ValueError):
        parse_value("maybe", bool)


@dataclasses.dataclass
class Ranged:
    mode: str = option("a", "mode", choices=("a", "b"))
    steps: int = option(1, "steps", least=0)


def test_declared_choices_and_least_value_are_checked_naming_the_option():
    check_options(Ranged(mode="b", steps=0))
    with pytest.raises(ConfigError, match=r"option 'mode': mode is 'c'\n  fix: choose one of a, b"):
        check_options(Ranged(mode="c"))
    with pytest.raises(ConfigError, match=r"option 'steps': steps is -1\n  fix: use 0 or more"):
        check_options(Ranged(steps=-1))


@pytest.mark.parametrize(("stage", "field", "value"), [
    ("finetune", "metric", "f1"), ("finetune", "nproc_per_node", 0), ("meta_teacher", "prototype", "token"),
    ("distill", "nodes", 0), ("distill", "soft_loss", "mse"), ("fewshot", "prompt_count", 0),
    ("pretrain", "max_steps", -1), ("predict", "precision", "fp16"), ("prepare_data", "other_domain", "keep_all"),
])
def test_every_stage_refuses_a_value_outside_what_its_field_declares(stage, field, value):
    from nlpfactory import stages

    with pytest.raises(ConfigError, match=f"option '{field}'"):
        stages.get(stage).Config(**{field: value})


def test_labels_must_match_in_order_unless_only_names_count():
    from nlpfactory.errors import InputError
    from nlpfactory.models.labels import check_labels_match

    check_labels_match(["neg", "pos"], ["neg", "pos"], model="m")
    check_labels_match(["pos", "neg"], ["neg", "pos"], model="m", ordered=False)
    with pytest.raises(InputError, match=r"the teacher predicts labels \['pos', 'neg'\].*\n  fix: use a teacher"):
        check_labels_match(["pos", "neg"], ["neg", "pos"], model="m", role="teacher")


def test_weight_decay_spares_biases_layernorm_and_frozen_weights():
    import torch

    from nlpfactory.train.config import decay_groups

    layer = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.LayerNorm(3), torch.nn.Linear(3, 2))
    layer[2].weight.requires_grad_(False)
    decay, no_decay = decay_groups(layer.named_parameters(), 0.01)
    assert decay["params"] == [layer[0].weight] and decay["weight_decay"] == 0.01
    assert {id(p) for p in no_decay["params"]} == {id(layer[0].bias), id(layer[1].weight), id(layer[1].bias), id(layer[2].bias)}


def test_scores_table_writes_each_class_and_its_counts_as_markdown():
    from nlpfactory.evaluate import scores_table

    per_type = {"PER": {"precision": 0.5, "recall": 1 / 3, "f1": 0.4, "support": 3, "predicted": 2}}
    assert scores_table("type", per_type, {"gold entities": "support", "predicted": "predicted"}) == [
        "| type | precision | recall | F1 | gold entities | predicted |",
        "|---|---|---|---|---|---|",
        "| PER | 0.5000 | 0.3333 | 0.4000 | 3 | 2 |",
    ]
