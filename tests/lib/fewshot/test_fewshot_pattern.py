import pytest

from nlpfactory.errors import InputError
from nlpfactory.fewshot.config import FewshotConfig
from nlpfactory.fewshot.pattern import PromptLayout, build_rows, cptuning_pattern


def test_pattern_words_masks_and_text_in_order(tokenizer):
    row = build_rows(tokenizer, PromptLayout("{text}。总之很{mask}。", mask_count=2), ["好看"])[0]
    tokens = tokenizer.convert_ids_to_tokens(row["input_ids"])
    assert tokens == ["[CLS]", "好", "看", "[UNK]", "总", "之", "很", "[MASK]", "[MASK]", "[UNK]", "[SEP]"]
    assert row["mask_positions"] == [7, 8]
    assert row["token_type_ids"] == [0] * 11


def test_long_text_is_cut_but_the_pattern_survives(tokenizer):
    row = build_rows(tokenizer, PromptLayout("{text}很{mask}", mask_count=2), ["好" * 50], max_length=10)[0]
    tokens = tokenizer.convert_ids_to_tokens(row["input_ids"])
    assert len(tokens) == 10 and tokens[-4:] == ["很", "[MASK]", "[MASK]", "[SEP]"]


def test_cptuning_pairs_put_the_second_text_in_segment_one(tokenizer):
    layout = PromptLayout(cptuning_pattern(pair=True), prompt_length=2)
    row = build_rows(tokenizer, layout, ["好"], ["电影"])[0]
    tokens = tokenizer.convert_ids_to_tokens(row["input_ids"])
    assert tokens == ["[CLS]", "好", "[SEP]", "电", "影", "[PAD]", "[PAD]", "[MASK]", "[SEP]"]
    assert row["token_type_ids"] == [0, 0, 0, 1, 1, 1, 1, 1, 1]
    assert row["prompt_positions"] == [5, 6] and row["mask_positions"] == [7]


def test_pairs_need_a_text_b_slot_and_a_text_b_slot_needs_pairs(tokenizer):
    with pytest.raises(InputError, match="no {text_b} slot"):
        build_rows(tokenizer, PromptLayout("{text}{mask}"), ["a"], ["b"])
    with pytest.raises(InputError, match="no second texts"):
        build_rows(tokenizer, PromptLayout("{text}{mask}{text_b}"), ["a"])


@pytest.mark.parametrize("pattern", ["{text}", "{text}{mask}{mask}", "{mask}", "{text}{masked}"])
def test_bad_patterns_are_refused_with_a_fix(pattern):
    with pytest.raises(InputError, match="fix:"):
        FewshotConfig(pattern=pattern)


def test_config_refuses_unknown_choices():
    with pytest.raises(InputError, match="choose one of pet, ptuning, cptuning"):
        FewshotConfig(method="lora")
    with pytest.raises(InputError, match="at least 2"):
        FewshotConfig(method="cptuning", shots_per_class=1)
