import json
import math
import time

import pytest
import torch
from helpers import write_corpus
from transformers import AutoModelForMaskedLM, AutoTokenizer

from nlpfactory import backbones
from nlpfactory.finetune import FinetuneConfig, finetune
from nlpfactory.models.card import read_card
from nlpfactory.pretrain import PretrainConfig, _steps_for_budget, time_schedule
from nlpfactory.train.loop import fit

TINY = dict(max_steps=12, time_budget_minutes=0.0, vocab_size=200, eval_rows=10, eval_every_steps=4, batch_size=8)


def test_a_tiny_backbone_builds_caches_loads_as_masked_lm_and_fine_tunes(tmp_path, monkeypatch, tiny_dataset):
    monkeypatch.setenv("NLPFACTORY_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("NLPFACTORY_BACKBONES")
    corpus = write_corpus(tmp_path / "corpus")
    folder = backbones.build("zh-tiny", corpus_dir=corpus, **TINY)
    assert folder.parent == tmp_path / "cache" / "models" and folder.name.startswith("zh-tiny-")
    card = read_card(folder)
    assert card["backbone"]["name"] == "zh-tiny" and card["training"]["steps"] == 12
    assert [point["step"] for point in card["mlm_curve"]] == [4, 8, 12]
    held_out = card["mlm_metrics"]  # the last point of the curve is the saved model, scored the same way
    assert (held_out["mlm_accuracy"], round(held_out["mlm_perplexity"], 2)) == \
        (card["mlm_curve"][-1]["mlm_accuracy"], card["mlm_curve"][-1]["mlm_perplexity"])
    assert held_out["mlm_perplexity"] == pytest.approx(math.exp(held_out["mlm_loss"]), rel=1e-3)

    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert tokenizer.convert_tokens_to_ids(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]) == [0, 100, 101, 102, 103]
    mlm = AutoModelForMaskedLM.from_pretrained(folder)
    with torch.no_grad():
        logits = mlm(**tokenizer(["酒店[MASK]好"], return_tensors="pt")).logits
    assert logits.shape[-1] == len(tokenizer)

    assert backbones.find("zh-tiny") == folder and backbones.find("zh-small") is None
    built = (folder / "model.safetensors").stat().st_mtime
    assert backbones.build("zh-tiny", corpus_dir=corpus, **TINY) == folder  # cached: not trained again
    assert (folder / "model.safetensors").stat().st_mtime == built

    result = finetune(FinetuneConfig(model=str(folder), epochs=1, batch_size=16, checkpoint_every_steps=0),
                      tiny_dataset, tmp_path / "classifier")
    assert read_card(result.model_dir)["origin"] == "folder" and result.fit.steps > 0


@pytest.mark.slow
def test_two_processes_build_one_backbone_under_the_same_key(tmp_path, monkeypatch):
    monkeypatch.setenv("NLPFACTORY_BACKBONES", str(tmp_path / "models"))
    corpus = write_corpus(tmp_path / "corpus")
    folder = backbones.build("zh-tiny", corpus_dir=corpus, nproc_per_node=2, **(TINY | {"eval_every_steps": 0}))

    assert [p.name for p in (tmp_path / "models").iterdir()] == [folder.name]  # rank 1 wrote nothing
    card = read_card(folder)
    assert card["backbone"]["name"] == "zh-tiny" and card["training"]["steps"] == 12
    # How many processes built it is not part of what it is: one process finds it cached.
    built = (folder / "model.safetensors").stat().st_mtime
    assert backbones.build("zh-tiny", corpus_dir=corpus, **(TINY | {"eval_every_steps": 0})) == folder
    assert (folder / "model.safetensors").stat().st_mtime == built


def test_a_backbone_on_several_pods_is_the_stages_to_launch():
    from nlpfactory.errors import ConfigError

    with pytest.raises(ConfigError, match="nodes is 2") as refused:
        backbones.build("zh-tiny", nodes=2)
    assert "nlpfactory backbone --name zh-tiny --nodes 2" in refused.value.fix
    with pytest.raises(ConfigError, match="nodes"):
        backbones.BackboneConfig(nodes=0)


def test_the_cache_key_follows_the_corpus_and_the_config():
    small = backbones.pretrain_config("zh-small")
    key = backbones.cache_key(small, "corpus-a")
    assert key == backbones.cache_key(backbones.pretrain_config("zh-small"), "corpus-a")
    assert key != backbones.cache_key(small, "corpus-b")
    assert key != backbones.cache_key(backbones.pretrain_config("zh-small", learning_rate=1e-4), "corpus-a")
    assert key != backbones.cache_key(backbones.pretrain_config("zh-tiny"), "corpus-a")


def test_unknown_backbones_are_refused():
    with pytest.raises(ValueError, match="unknown backbone"):
        backbones.build("zh-huge")


def test_on_a_gpu_recipes_take_larger_batches_and_zh_base_needs_one():
    cpu, gpu = backbones.pretrain_config("zh-small"), backbones.pretrain_config("zh-small", gpu=True)
    assert (cpu.batch_size, gpu.batch_size) == (32, 256) and gpu.learning_rate > cpu.learning_rate
    assert backbones.pretrain_config("zh-small", gpu=True, batch_size=64).batch_size == 64  # overrides win
    assert backbones.pretrain_config("zh-base", gpu=True).model == "base"
    with pytest.raises(ValueError, match="needs a GPU") as refused:
        backbones.build("zh-base")  # on this CPU machine: refused before any corpus is read
    assert "zh-small" in refused.value.fix


def test_the_step_count_fits_the_budget_with_its_measurements():
    cfg = PretrainConfig(eval_every_steps=100)
    # 0.5 s a step plus a 10 s measurement every 100 steps is 0.6 s a step; 10% is kept back.
    assert _steps_for_budget(600.0, 0.5, 10.0, cfg) == 900
    assert _steps_for_budget(600.0, 0.5, 10.0, PretrainConfig()) == 1080
    assert _steps_for_budget(0.1, 5.0, 0.0, cfg) == 1


def test_training_stops_at_the_deadline(tmp_path):
    model = torch.nn.Linear(2, 1)
    rows = [{"input_ids": [1, 2]} for _ in range(40)]
    cfg = PretrainConfig(epochs=3, batch_size=4, checkpoint_every_steps=0)
    loss = lambda m, batch: m(batch["input_ids"].float()).pow(2).mean()  # noqa: E731
    result = fit(model, rows, loss, cfg, checkpoint_dir=tmp_path / "checkpoints", deadline=time.monotonic())
    assert result.steps == 1
    assert fit(model, rows, loss, cfg, checkpoint_dir=tmp_path / "checkpoints").steps == 30


def test_auto_is_the_cached_backbone_of_the_role_else_its_preset_with_a_warning(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("NLPFACTORY_BACKBONES", str(tmp_path / "models"))
    with caplog.at_level("WARNING"):
        assert backbones.resolve("auto", "teacher") == "small"
        assert backbones.resolve("auto", "student") == "tiny"
    assert "no zh-small backbone is cached" in caplog.text and "nlpfactory models build zh-tiny" in caplog.text
    folder = tmp_path / "models" / "zh-small-abc"
    folder.mkdir(parents=True)
    (folder / "nlpfactory.json").write_text(json.dumps({"backbone": {"name": "zh-small"}}), encoding="utf-8")
    assert backbones.resolve("auto", "teacher") == str(folder)
    assert backbones.resolve("auto", "student") == "tiny"
    assert backbones.resolve("base", "teacher") == "base" and backbones.resolve("hfl/rbt3") == "hfl/rbt3"


def test_every_recipe_starts_from_auto_by_default():
    from nlpfactory.distill.config import DistillConfig, MetaTeacherConfig
    from nlpfactory.fewshot.config import FewshotConfig

    assert FinetuneConfig().model == MetaTeacherConfig().model == FewshotConfig().model == "auto"
    assert DistillConfig().student == "auto"


def test_the_budget_schedule_warms_up_by_steps_and_decays_with_the_time_left():
    now = [100.0]
    factor = time_schedule(4, start=100.0, deadline=200.0, clock=lambda: now[0])
    assert [factor(s) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    now[0] = 150.0
    assert factor(10) == 0.5
    now[0] = 250.0
    assert factor(11) == 0.0


def test_the_same_corpus_gives_the_same_vocabulary_every_time():
    # Latin words and numbers make pairs of equal frequency: the `tokenizers` trainer broke
    # those ties by hash-map order, so two backbones of one corpus got different ids.
    from nlpfactory.models.backbone_vocab import SPECIAL_TOKENS, learn_backbone_vocab

    texts = [f"{w}{i} room {w} 第{i % 13}号房间 {i * 7}" for i, w in enumerate(["good", "bad", "nice", "poor"] * 30)]
    first = learn_backbone_vocab(texts, vocab_size=200)
    assert first[:len(SPECIAL_TOKENS)] == SPECIAL_TOKENS and "房" in first and "room" in first
    for _ in range(3):
        assert learn_backbone_vocab(texts, vocab_size=200) == first
