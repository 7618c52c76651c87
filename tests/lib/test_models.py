import pytest

from nlpfactory.errors import ModelNotFoundError
from nlpfactory.models.load import load_model, save_model
from nlpfactory.models.presets import PRESETS

TEXTS = ["今天的酒店房间很干净", "这本书的内容不错 good", "电脑屏幕太暗了"] * 5


def test_presets_have_the_documented_shapes():
    assert PRESETS["tiny"]["num_hidden_layers"] == 2 and PRESETS["tiny"]["hidden_size"] == 128
    assert PRESETS["small"]["num_hidden_layers"] == 4 and PRESETS["small"]["hidden_size"] == 256
    assert PRESETS["base"]["num_hidden_layers"] == 12 and PRESETS["base"]["hidden_size"] == 768


def test_learned_tokenizer_splits_chinese_characters_one_by_one():
    _, tokenizer, origin = load_model("tiny", num_labels=2, texts=TEXTS, vocab_size=200)
    assert origin == "preset"
    assert tokenizer.tokenize("酒店房间") == ["酒", "店", "房", "间"]
    assert "[UNK]" not in tokenizer.tokenize("这本书 good")


def test_a_saved_preset_loads_through_the_hub_code_path(tmp_path):
    model, tokenizer, _ = load_model("tiny", num_labels=2, texts=TEXTS, vocab_size=200)
    save_model(model, tokenizer, tmp_path / "m")
    loaded, loaded_tok, origin = load_model(str(tmp_path / "m"), num_labels=2)
    assert origin == "folder"
    assert loaded_tok.tokenize("酒店") == tokenizer.tokenize("酒店")
    relabelled, _, _ = load_model(str(tmp_path / "m"), num_labels=5)
    assert relabelled.classifier.out_features == 5
    mlm, _, _ = load_model(str(tmp_path / "m"), head="mlm")
    assert mlm.config.vocab_size == len(tokenizer)


def test_unreachable_hub_id_gets_a_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotFoundError, match=r"hfl/rbt3.*not a preset.*offline"):
        load_model("hfl/rbt3", num_labels=2)


def test_missing_folder_is_not_mistaken_for_a_hub_id(tmp_path):
    with pytest.raises(ModelNotFoundError, match="no such folder"):
        load_model(str(tmp_path / "nope"), num_labels=2)


def test_a_new_head_on_a_loaded_model_is_seeded(tmp_path):
    import torch

    model, tokenizer, _ = load_model("tiny", num_labels=2, texts=TEXTS, vocab_size=200)
    save_model(model, tokenizer, tmp_path / "m")
    first, _, _ = load_model(str(tmp_path / "m"), num_labels=3, seed=7)
    torch.rand(5)  # whatever ran before must not change the new head
    second, _, _ = load_model(str(tmp_path / "m"), num_labels=3, seed=7)
    assert torch.equal(first.classifier.weight, second.classifier.weight)


def test_a_pinned_vocabulary_saved_by_another_rank_meanwhile_is_taken(tmp_path):
    # Under torchrun every rank learns the same vocabulary and pins it in the same folder.
    from nlpfactory.models.load import pinned_tokenizer
    from nlpfactory.models.tokenizer import learn_tokenizer

    folder = tmp_path / "checkpoint" / "tokenizer"
    texts = ["酒店服务非常周到", "房间干净早餐丰富"]

    def learn_while_another_rank_pins():
        pinned_tokenizer(folder, lambda: learn_tokenizer(texts, vocab_size=200))  # the other rank
        return learn_tokenizer(texts, vocab_size=200)

    tokenizer = pinned_tokenizer(folder, learn_while_another_rank_pins)
    assert tokenizer.get_vocab() == pinned_tokenizer(folder, None).get_vocab()
    assert [p.name for p in folder.parent.iterdir()] == ["tokenizer"]  # no temporary folder left
