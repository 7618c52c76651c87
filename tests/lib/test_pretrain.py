import random

import pandas as pd
import pytest
import torch
from transformers import AutoConfig, AutoModelForMaskedLM

from nlpfactory.data.dataset import DatasetInfo, write_dataset
from nlpfactory.models.card import read_card
from nlpfactory.models.load import load_model
from nlpfactory.pretrain import (
    PretrainConfig,
    WholeWordMasker,
    _chosen_positions,
    mlm_scores,
    pretrain,
    pretraining_texts,
    word_rows,
)
from nlpfactory.train.checkpoint import checkpoint_dir_for

REVIEWS = [
    "酒店服务非常周到，房间干净", "房间太小了，隔音很差", "早餐丰富，前台态度热情",
    "笔记本电脑屏幕清晰，运行很快", "电池不耐用，键盘也松了", "这本书写得很有意思",
    "故事情节平淡，不推荐购买", "物流很快，包装完好", "价格便宜，质量不错",
    "空调坏了，晚上很热", "作者文笔流畅，值得一读", "系统经常死机，非常失望",
]


@pytest.fixture
def dataset_dir(tmp_path):
    train = pd.DataFrame({"text": REVIEWS * 3, "label": ["pos", "neg"] * 18})
    test = pd.DataFrame({"text": ["测试文本不应被读取"], "label": ["pos"]})
    info = DatasetInfo(task="classification", labels=["neg", "pos"])
    return write_dataset(tmp_path / "data", {"train": train, "test": test}, info)


def test_only_the_chosen_splits_give_text(dataset_dir):
    texts = pretraining_texts(PretrainConfig(), [dataset_dir])
    assert len(texts) == 36 and "测试文本不应被读取" not in texts
    assert "测试文本不应被读取" in pretraining_texts(PretrainConfig(splits=["train", "test"]), [dataset_dir])


def test_whole_words_are_masked_together():
    tokenizer = load_model("tiny", "mlm", texts=REVIEWS, vocab_size=300)[1]
    text = "酒店服务非常周到房间干净早餐丰富"  # eight two-character words
    rows, groups = word_rows(tokenizer, [text, "，。"], max_length=64)
    assert len(rows) == 1  # punctuation alone has no word to mask
    masker = WholeWordMasker(tokenizer, groups, ratio=0.25)
    batch = {"input_ids": torch.tensor([rows[0]["input_ids"]]), "row": torch.tensor([0])}
    for seed in range(5):
        ids, labels = masker.fixed_batch(batch, random.Random(seed))
        masked = (ids[0] == tokenizer.mask_token_id).nonzero().flatten().tolist()
        assert len(masked) == 4
        assert all(p % 2 == 1 and p + 1 in masked for p in masked[::2])  # word = tokens 2k+1, 2k+2
        assert (labels[0] != -100).nonzero().flatten().tolist() == masked


def test_word_masks_are_drawn_on_the_cpu_whatever_the_batch_device():
    # On a GPU, a mask set word by word on the device launched a kernel per word: 28x slower steps.
    tokenizer = load_model("tiny", "mlm", texts=REVIEWS, vocab_size=300)[1]
    rows, groups = word_rows(tokenizer, ["酒店服务非常周到房间干净早餐丰富"], max_length=64)
    ids = torch.tensor([rows[0]["input_ids"]], device="meta")
    chosen = _chosen_positions(ids, torch.tensor([0]), groups, 0.25, random.Random(0))
    assert chosen.device.type == "cpu" and chosen.sum().item() == 4


def test_pretraining_lowers_the_mlm_loss_and_loads_as_mlm_and_as_classifier(dataset_dir, tmp_path):
    cfg = PretrainConfig(model="tiny", vocab_size=300, max_steps=57, batch_size=8, learning_rate=2e-3,
                         eval_rows=0, checkpoint_every_steps=0, seed=1)
    result = pretrain(cfg, tmp_path / "mlm", [dataset_dir])
    assert result.fit.steps == 57  # 5 batches a pass: the 12th pass is cut
    card = read_card(tmp_path / "mlm")
    assert card["kind"] == "mlm" and card["mlm_metrics"]["mlm_loss"] == round(result.metrics["mlm_loss"], 4)
    assert card["training"]["steps"] == 57 and card["training"]["mask_ratio"] == cfg.mask_ratio

    mlm, tokenizer, origin = load_model(str(tmp_path / "mlm"), "mlm")
    assert origin == "folder"
    torch.manual_seed(0)
    untrained = AutoModelForMaskedLM.from_config(AutoConfig.from_pretrained(tmp_path / "mlm"))
    before = mlm_scores(untrained, tokenizer, REVIEWS, seed=3)
    after = mlm_scores(mlm, tokenizer, REVIEWS, seed=3)
    assert after["masked_tokens"] == before["masked_tokens"] > 0
    assert after["mlm_loss"] < before["mlm_loss"] - 0.7, (before, after)
    assert after["mlm_accuracy"] > before["mlm_accuracy"]

    classifier, _, _ = load_model(str(tmp_path / "mlm"), "classification", num_labels=2)
    assert classifier.classifier.out_features == 2
    assert torch.equal(classifier.bert.embeddings.word_embeddings.weight,
                       mlm.bert.embeddings.word_embeddings.weight)
    with torch.no_grad():
        logits = classifier(**tokenizer(["房间很干净"], return_tensors="pt")).logits
    assert logits.shape == (1, 2)


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="mask_ratio"):
        PretrainConfig(mask_ratio=0)


def test_a_checkpoint_of_the_same_options_on_other_text_is_not_resumed(tmp_path, monkeypatch):
    # A killed run leaves its checkpoint (and the vocabulary pinned in it) in a folder keyed by
    # the options; the same options on other text must get another folder.
    import nlpfactory.pretrain as module

    folders = []

    def recording(*args):
        folders.append(checkpoint_dir_for(*args))
        return folders[-1]

    monkeypatch.setenv("NLPFACTORY_CHECKPOINTS", str(tmp_path / "checkpoints"))
    monkeypatch.setattr(module, "checkpoint_dir_for", recording)
    cfg = PretrainConfig(model="tiny", vocab_size=300, max_steps=1, batch_size=4, eval_rows=0,
                         checkpoint_every_steps=0, seed=1)
    pretrain(cfg, tmp_path / "a", texts=REVIEWS)
    pretrain(cfg, tmp_path / "b", texts=["今天天气晴朗适合出门散步", "明天下雨记得带伞出门"] * 4)
    pretrain(cfg, tmp_path / "c", texts=REVIEWS)
    assert folders[0] != folders[1] and folders[0] == folders[2]
