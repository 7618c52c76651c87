import math

import pytest
import torch

from nlpfactory.errors import InputError
from nlpfactory.fewshot.model import PromptedMLM
from nlpfactory.fewshot.pattern import PromptLayout, build_rows
from nlpfactory.fewshot.pet import cloze_scores, label_scores, label_words, word_token_ids
from nlpfactory.train.batching import collate

WORDS = ["好", "不好", "非常不好"]  # 1, 2 and 4 tokens


def mask_probabilities(tokenizer):
    """What the MLM believes at each of the 4 masks (the rest of the mass on other tokens)."""
    v = tokenizer.convert_tokens_to_ids
    return [{v("不"): 0.4, v("好"): 0.3, v("非"): 0.2},
            {v("好"): 0.5, v("常"): 0.05},
            {v("不"): 0.5},
            {v("好"): 0.5}]


def log_prob_table(tokenizer, positions, length):
    """(length, vocab) logits whose softmax at `positions[i]` is mask_probabilities()[i]."""
    vocab = len(tokenizer)
    table = torch.full((length, vocab), math.log(1e-6), dtype=torch.float64)
    for pos, probs in zip(positions, mask_probabilities(tokenizer)):
        rest = (1 - sum(probs.values())) / (vocab - len(probs))
        table[pos] = math.log(rest)
        for token, p in probs.items():
            table[pos, token] = math.log(p)
    return table


# By hand: 好 = log .3; 不好 = (log .4 + log .5) / 2 or their sum; 非常不好 = log .2 + log .05 + 2 log .5
MEAN = [math.log(0.3), (math.log(0.4) + math.log(0.5)) / 2,
        (math.log(0.2) + math.log(0.05) + 2 * math.log(0.5)) / 4]
SUM = [math.log(0.3), math.log(0.4) + math.log(0.5), math.log(0.2) + math.log(0.05) + 2 * math.log(0.5)]


def test_label_words_of_unequal_length_are_scored_by_their_own_tokens(tokenizer):
    words = word_token_ids(tokenizer, WORDS)
    assert [len(w) for w in words] == [1, 2, 4]
    log_probs = log_prob_table(tokenizer, [0, 1, 2, 3], 4).unsqueeze(0)
    assert label_scores(log_probs, words, "mean")[0].tolist() == pytest.approx(MEAN)
    assert label_scores(log_probs, words, "sum")[0].tolist() == pytest.approx(SUM)


def test_hand_built_mlm_gives_the_expected_ranking(tokenizer, hand_built_mlm):
    words = word_token_ids(tokenizer, WORDS)
    layout = PromptLayout("{text}。总之很{mask}。", mask_count=max(len(w) for w in words))
    rows = build_rows(tokenizer, layout, ["电影不好看"])
    positions = rows[0]["mask_positions"]
    model = PromptedMLM(hand_built_mlm(log_prob_table(tokenizer, positions, len(rows[0]["input_ids"])).float()))
    batch = collate(rows)
    mean = cloze_scores(model, batch, words, "mean")[0]
    total = cloze_scores(model, batch, words, "sum")[0]
    # mean: 不好 > 好 > 非常不好; sum favours the short word: 好 > 不好 > 非常不好
    assert mean.argsort(descending=True).tolist() == [1, 0, 2]
    assert total.argsort(descending=True).tolist() == [0, 1, 2]
    assert mean.tolist() == pytest.approx(MEAN, abs=1e-4)
    by_hand = [math.exp(s) / sum(math.exp(t) for t in MEAN) for s in MEAN]
    assert torch.softmax(mean, 0).tolist() == pytest.approx(by_hand, abs=1e-4)


def test_verbalizer_must_cover_every_label_and_its_words_must_be_known(tokenizer):
    assert label_words(["体育", "财经"], {}) == ["体育", "财经"]
    with pytest.raises(InputError, match="no word for label"):
        label_words(["pos", "neg"], {"pos": "好"})
    with pytest.raises(InputError, match="not in the model's vocabulary"):
        word_token_ids(tokenizer, ["鑫"])
