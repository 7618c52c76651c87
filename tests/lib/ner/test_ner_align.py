import numpy as np
from transformers import BertTokenizer

from nlpfactory.ner.align import IGNORE, char_words, encode, stitch, windows_of, word_tags

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "中", "国", "在", "年", "19", "##98", "ibm", "."]


def _tokenizer(tmp_path):
    (tmp_path / "vocab.txt").write_text("\n".join(VOCAB), encoding="utf-8")
    return BertTokenizer(str(tmp_path / "vocab.txt"))


def test_merged_characters_are_labelled_on_their_first_sub_token(tmp_path):
    tok = _tokenizer(tmp_path)
    text = "1998年在IBM"
    assert [text[a:b] for a, b in char_words(text)] == ["1998", "年", "在", "IBM"]
    tags = [0, 0, 0, 0, 0, 0, 1, 2, 2]  # O*6, B-ORG I-ORG I-ORG
    rows, windows = encode(tok, [text], max_length=32, tag_ids=[tags])
    assert tok.convert_ids_to_tokens(rows[0]["input_ids"]) == ["[CLS]", "19", "##98", "年", "在", "ibm", "[SEP]"]
    assert rows[0]["tag_ids"] == [IGNORE, 0, IGNORE, 0, 0, 1, IGNORE]
    assert windows[0].positions == [1, 3, 4, 5]


def test_prediction_on_the_first_sub_token_covers_the_whole_word():
    names = ["O", "B-ORG", "I-ORG"]
    assert word_tags("1998年在IBM", np.array([0, 0, 0, 0, 0, 0, 1, 0, 0]), names) == \
        ["O"] * 6 + ["B-ORG", "I-ORG", "I-ORG"]


def test_windows_overlap_and_cover_every_word():
    spans = windows_of([1] * 10, budget=4, stride=2)
    assert spans == [(0, 4), (2, 6), (4, 8), (6, 10)]
    assert windows_of([1] * 3, budget=4, stride=2) == [(0, 3)]


def test_long_sentences_stitch_back_exactly(tmp_path):
    tok = _tokenizer(tmp_path)
    text = "中国在" * 13 + "1998"  # 40 words, 41 tokens: several windows at max_length 10
    rows, windows = encode(tok, [text, "中国"], max_length=10, stride=3)
    assert len(rows) > 4 and all(len(r["input_ids"]) <= 10 for r in rows)
    # A model whose score for a token is its position in the sentence makes stitching visible.
    scores = []
    for w in windows:
        s = np.full((len(rows[len(scores)]["input_ids"]), 2), -1.0)
        for k, position in enumerate(w.positions):
            s[position] = [w.first_word + k, 0]
        scores.append(s)
    stitched = stitch([text, "中国"], windows, scores, 2)
    words = char_words(text)
    expected = np.concatenate([[i] * (b - a) for i, (a, b) in enumerate(words)])
    assert stitched[0][:, 0].tolist() == expected.tolist()
    assert stitched[1][:, 0].tolist() == [0, 1]
