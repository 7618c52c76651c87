import random
import types

import torch

from nlpfactory.augment.mlm import mlm_augment
from nlpfactory.augment.run import AugmentConfig, augment_dataset
from nlpfactory.augment.words import choose_words, word_token_groups
from nlpfactory.data.dataset import load_split
from nlpfactory.models.load import load_model, save_model
from nlpfactory.models.tokenizer import learn_tokenizer

TEXT = "酒店服务非常周到房间干净早餐丰富"


class AlwaysSays(torch.nn.Module):
    """A stand-in MLM that predicts the same token everywhere."""

    def __init__(self, vocab_size, token_id):
        super().__init__()
        self.config = types.SimpleNamespace(vocab_size=vocab_size)
        self.token_id = token_id
        self.bias = torch.nn.Parameter(torch.zeros(1))

    def forward(self, input_ids, attention_mask=None):
        logits = torch.zeros(*input_ids.shape, self.config.vocab_size)
        logits[..., self.token_id] = 10.0
        return types.SimpleNamespace(logits=logits)


def _tokenizer():
    return learn_tokenizer([TEXT, "好"], vocab_size=300)


def test_word_groups_follow_jieba_words_and_cover_about_the_ratio():
    tokenizer = _tokenizer()
    offsets = tokenizer(TEXT, return_offsets_mapping=True)["offset_mapping"]
    groups = word_token_groups(TEXT, offsets)
    assert groups == [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12], [13, 14], [15, 16]]
    for seed in range(10):
        chosen = choose_words(groups, 0.25, random.Random(seed))
        assert len(chosen) == 2  # 4 of 16 characters


def test_masked_words_are_refilled_whole_and_the_rest_is_untouched():
    tokenizer = _tokenizer()
    fake = AlwaysSays(len(tokenizer), tokenizer.convert_tokens_to_ids("好"))
    for seed in range(5):
        out = mlm_augment([TEXT], fake, tokenizer, ratio=0.25, rng=random.Random(seed), top_k=1)[0]
        assert len(out) == len(TEXT) and out.count("好") == 4
        for i in range(0, len(TEXT), 2):  # each two-character word is kept or replaced whole
            assert out[i:i + 2] in (TEXT[i:i + 2], "好好")


def test_mlm_augmentation_with_a_tiny_untrained_mlm_makes_the_promised_rows(dataset_dir, train_texts, tmp_path):
    model, tokenizer, _ = load_model("tiny", head="mlm", texts=train_texts, vocab_size=300)
    save_model(model, tokenizer, tmp_path / "mlm")
    cfg = AugmentConfig(method="mlm", expansion=4, mask_ratio=0.25, seed=3)
    out = augment_dataset(cfg, dataset_dir, tmp_path / "aug", mlm_model=tmp_path / "mlm")
    train = load_split(out.output_dir, "train")
    assert len(train) == len(train_texts) * 5
    copies = train[train["augmented"]]
    assert (copies["text"] != train.loc[copies["source_id"], "text"].to_numpy()).mean() > 0.5
    assert out.metrics["augmented_rows_kept"] == len(train_texts) * 4
    again = augment_dataset(cfg, dataset_dir, tmp_path / "again", mlm_model=tmp_path / "mlm")
    assert load_split(again.output_dir, "train")["text"].tolist() == train["text"].tolist()
