"""learning_rate = 0 (auto) picks a rate from what the stage's model resolved to."""

import json
import logging

import pytest

from nlpfactory.distill.config import DistillConfig, MetaTeacherConfig
from nlpfactory.errors import ConfigError
from nlpfactory.fewshot.config import FewshotConfig
from nlpfactory.models.card import CARD_FILE
from nlpfactory.stages.finetune import FinetuneConfig
from nlpfactory.stages.pretrain import PretrainConfig
from nlpfactory.train.rates import start_kind, with_auto_rates

# (config, field, from scratch, from a backbone built here, from another pretrained model):
# the from-scratch rates are the defaults the stages had before auto, so a fresh machine
# trains as it did.
STAGES = [
    (FinetuneConfig, "learning_rate", 5e-4, 2e-4, 3e-5),
    (MetaTeacherConfig, "learning_rate", 3e-4, 2e-4, 3e-5),
    (DistillConfig, "learning_rate", 5e-4, 3e-4, 3e-5),
    (DistillConfig, "stage1_learning_rate", 5e-4, 3e-4, 3e-5),
    (DistillConfig, "stage2_learning_rate", 5e-4, 3e-4, 3e-5),
    (PretrainConfig, "learning_rate", 5e-4, 5e-5, 5e-5),
]
IDS = [f"{c.__name__}.{f}" for c, f, *_ in STAGES]


def model_folder(path, card: dict | None = None):
    """A folder that looks like a saved model: config.json, and the nlpfactory card if given."""
    path.mkdir(parents=True)
    (path / "config.json").write_text("{}", encoding="utf-8")
    if card is not None:
        (path / CARD_FILE).write_text(json.dumps(card), encoding="utf-8")
    return path


def backbone_folder(path):
    return model_folder(path, {"kind": "mlm", "base_model": "small", "origin": "preset",
                               "lineage": {"stage": "pretrain"}, "backbone": {"name": "zh-small", "key": "abc"}})


@pytest.mark.parametrize(("config", "field", "scratch", "built_here", "hub"), STAGES, ids=IDS)
def test_the_default_is_auto(config, field, scratch, built_here, hub):
    assert getattr(config(), field) == 0


@pytest.mark.parametrize(("config", "field", "scratch", "built_here", "hub"), STAGES, ids=IDS)
def test_a_preset_gets_the_from_scratch_rate(config, field, scratch, built_here, hub):
    assert getattr(with_auto_rates(config(), "tiny"), field) == scratch


@pytest.mark.parametrize(("config", "field", "scratch", "built_here", "hub"), STAGES, ids=IDS)
def test_a_backbone_built_here_gets_a_small_bert_fine_tuning_rate(config, field, scratch, built_here, hub, tmp_path):
    assert getattr(with_auto_rates(config(), str(backbone_folder(tmp_path / "zh-small-abc"))), field) == built_here


@pytest.mark.parametrize(("config", "field", "scratch", "built_here", "hub"), STAGES, ids=IDS)
def test_a_hub_model_gets_a_bert_base_fine_tuning_rate(config, field, scratch, built_here, hub, tmp_path):
    assert getattr(with_auto_rates(config(), str(model_folder(tmp_path / "rbt3"))), field) == hub
    assert getattr(with_auto_rates(config(), "hfl/rbt3"), field) == hub


@pytest.mark.parametrize(("config", "field", "scratch", "built_here", "hub"), STAGES, ids=IDS)
def test_an_explicit_rate_wins(config, field, scratch, built_here, hub, tmp_path):
    for model in ("tiny", str(backbone_folder(tmp_path / "zh-small-abc")), "hfl/rbt3"):
        assert getattr(with_auto_rates(config(**{field: 1.5e-3}), model), field) == 1.5e-3


def test_what_a_folder_is_follows_its_card(tmp_path):
    backbone = backbone_folder(tmp_path / "zh-small-abc")
    assert start_kind(str(model_folder(tmp_path / "adapted", {"origin": "preset", "lineage": {"stage": "pretrain"}}))) == "built_here"
    assert start_kind(str(model_folder(tmp_path / "teacher", {"origin": "folder", "base_model": str(backbone)}))) == "built_here"
    assert start_kind(str(model_folder(tmp_path / "from-hub", {"origin": "hub", "base_model": "hfl/rbt3"}))) == "pretrained"
    hub_style = model_folder(tmp_path / "hub-style")
    assert start_kind(str(model_folder(tmp_path / "on-hub-style", {"origin": "folder", "base_model": str(hub_style)}))) == "pretrained"


def test_zero_is_refused_where_it_means_nothing():
    with pytest.raises(ConfigError, match="learning_rate is 0"):
        FewshotConfig(learning_rate=0)  # the few-shot rate has no auto: it is always a fine-tuning rate
    with pytest.raises(ConfigError, match="learning_rate is -0.001"):
        FinetuneConfig(learning_rate=-1e-3)


@pytest.mark.usefixtures("mlflow_store")
def test_finetune_says_records_and_trains_at_the_rate_it_chose(tiny_dataset, tmp_path, caplog):
    """A preset trains at the from-scratch rate; a second fine-tuning of that model, now a
    classifier built here, at the fine-tuning rate. Both say so, and both record it."""
    from mlflow.tracking import MlflowClient

    from nlpfactory.finetune import finetune
    from nlpfactory.models.card import read_card
    from nlpfactory.tracking import MlflowTracker, tracking_uri

    small = dict(epochs=1, batch_size=16, vocab_size=300, max_length=32, checkpoint_every_steps=0)
    with caplog.at_level(logging.INFO, logger="nlpfactory.train.rates"):
        first = finetune(FinetuneConfig(model="tiny", **small), tiny_dataset, tmp_path / "first", tracker=MlflowTracker())
        second = finetune(FinetuneConfig(model=str(first.model_dir), **small), tiny_dataset, tmp_path / "second",
                          tracker=MlflowTracker())
    assert read_card(first.model_dir)["training"]["learning_rate"] == 5e-4
    assert read_card(second.model_dir)["training"]["learning_rate"] == 2e-4
    said = [r.getMessage() for r in caplog.records]
    assert any("learning_rate=0 (auto) -> 5e-4" in m and "preset trained from scratch" in m for m in said), said
    assert any("learning_rate=0 (auto) -> 2e-4" in m and "built here" in m for m in said), said

    client = MlflowClient(tracking_uri())
    runs = client.search_runs([client.get_experiment_by_name("nlpfactory-finetune").experiment_id])
    used = sorted(float(r.data.params["learning_rate_used"]) for r in runs)
    assert used == [2e-4, 5e-4] and {r.data.params["learning_rate"] for r in runs} == {"0.0"}
    peaks = sorted(max(m.value for m in client.get_metric_history(r.info.run_id, "learning_rate")) for r in runs)
    # The optimizer's rate, not only the record: both runs share the schedule's shape, so the
    # highest rates logged (after the first step's decay) stand as 2e-4 to 5e-4.
    assert peaks[1] <= 5e-4 and peaks[1] / peaks[0] == pytest.approx(2.5)


def test_pretrain_resolves_auto_once_and_adapts_its_own_output_gently(tmp_path):
    """model=auto with no backbone cached is the small preset (which learns its vocabulary: it
    used to fail asking for training text) at the from-scratch rate; pretraining that output
    again is MLM adaptation of a model built here, at 5e-5."""
    from nlpfactory.models.card import read_card
    from nlpfactory.pretrain import pretrain

    texts = ["房间干净，服务很好，下次还来", "电脑屏幕很清楚，电池也耐用", "这本书写得不错，值得一读"] * 6
    small = dict(vocab_size=300, max_steps=1, batch_size=4, eval_rows=0, checkpoint_every_steps=0)
    first = tmp_path / "first"
    pretrain(PretrainConfig(model="auto", **small), first, texts=texts)
    assert read_card(first)["base_model"] == "small" and read_card(first)["training"]["learning_rate"] == 5e-4
    pretrain(PretrainConfig(model=str(first), **small), tmp_path / "second", texts=texts)
    assert read_card(tmp_path / "second")["training"]["learning_rate"] == 5e-5
