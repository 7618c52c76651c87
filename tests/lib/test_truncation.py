"""Long single texts keep their start and their end; pairs are cut by the tokenizer."""

from nlpfactory.models.load import load_model
from nlpfactory.models.truncation import HEAD, keep_head_and_tail, rule_of
from nlpfactory.train.batching import encode


def test_the_first_and_last_halves_are_kept_with_the_special_tokens():
    ids = ["CLS", *range(300), "SEP"]
    cut = keep_head_and_tail(ids, 10)
    assert cut == ["CLS", 0, 1, 2, 3, 296, 297, 298, 299, "SEP"]
    assert keep_head_and_tail(ids[:10], 10) == ids[:10]


def test_a_card_from_before_the_rule_keeps_the_head():
    assert rule_of({"max_length": 128}) == HEAD


def test_encode_keeps_the_end_of_a_long_text_and_cuts_pairs_as_before():
    texts = ["开头" + "中间的话" * 40 + "结尾"]
    _, tokenizer, _ = load_model("tiny", num_labels=2, texts=texts + ["好的"], vocab_size=200, seed=0)
    [row] = encode(tokenizer, texts, max_length=16)
    words = tokenizer.convert_ids_to_tokens(row["input_ids"])
    assert len(words) == 16 and words[:3] == ["[CLS]", "开", "头"] and words[-3:] == ["结", "尾", "[SEP]"]
    [head_only] = encode(tokenizer, texts, max_length=16, truncation=HEAD)
    assert tokenizer.convert_ids_to_tokens(head_only["input_ids"])[-3:] != ["结", "尾", "[SEP]"]
    [pair] = encode(tokenizer, texts, texts, max_length=16)
    assert len(pair["input_ids"]) == 16 and pair["token_type_ids"][-1] == 1
