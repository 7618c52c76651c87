import random
from collections import Counter

import pytest

from nlpfactory.augment.eda import OPERATIONS, eda
from nlpfactory.augment.words import words

# jieba splits this into eight two-character words with no character shared between them.
TEXT = "酒店服务非常周到房间干净早餐丰富"
WORDS = ["酒店", "服务", "非常", "周到", "房间", "干净", "早餐", "丰富"]
SEEDS = range(8)


def test_the_sample_text_segments_into_distinct_two_character_words():
    assert words(TEXT) == WORDS
    assert len(set(TEXT)) == len(TEXT)


@pytest.mark.parametrize("seed", SEEDS)
def test_word_delete_removes_whole_words(seed):
    out = OPERATIONS["word_delete"](TEXT, 0.4, random.Random(seed))
    kept = [w for w in WORDS if w in out]
    assert "".join(kept) == out  # what is left is whole words, in their order
    assert 0 < len(kept) < len(WORDS)


@pytest.mark.parametrize("seed", SEEDS)
def test_word_swap_moves_whole_words(seed):
    out = OPERATIONS["word_swap"](TEXT, 0.25, random.Random(seed))
    assert out != TEXT
    assert sorted(out) == sorted(TEXT)
    assert all(w in out for w in WORDS)  # no word was split by the move


@pytest.mark.parametrize("seed", SEEDS)
def test_word_insert_copies_whole_words_of_the_same_row(seed):
    out = OPERATIONS["word_insert"](TEXT, 0.25, random.Random(seed))
    extra = Counter(out) - Counter(TEXT)
    assert extra, "something must be inserted"
    for w in WORDS:  # both characters of a word were inserted together, or neither
        assert extra[w[0]] == extra[w[1]]
    assert set(extra) <= set(TEXT)


@pytest.mark.parametrize("seed", SEEDS)
def test_character_delete_keeps_punctuation_and_something(seed):
    out = OPERATIONS["char_delete"]("好，", 1.0, random.Random(seed))
    assert out == "好，"  # one content character: nothing may be deleted
    out = OPERATIONS["char_delete"]("很好，不错。", 0.5, random.Random(seed))
    assert "，" in out and "。" in out and len(out) == 4


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_every_operation_is_seeded_and_leaves_text(operation):
    one = [eda(TEXT, 0.3, random.Random(7), [operation]) for _ in range(3)]
    assert len(set(one)) == 1 and one[0]
    assert eda("", 0.3, random.Random(7), [operation]) == ""
