import pytest

from nlpfactory.ner.metrics import entity_metrics
from nlpfactory.ner.predict import entities
from nlpfactory.ner.tags import TagError, convert, detect_scheme, from_spans, repair_bio, to_spans

BMES = ["B-ORG", "M-ORG", "E-ORG", "O", "S-PER", "O", "B-LOC", "E-LOC"]
BIO = ["B-ORG", "I-ORG", "I-ORG", "O", "B-PER", "O", "B-LOC", "I-LOC"]
BIOES = ["B-ORG", "I-ORG", "E-ORG", "O", "S-PER", "O", "B-LOC", "E-LOC"]


def test_bmes_and_bioes_convert_to_bio_and_back_exactly():
    assert convert(BMES, "bmes") == BIO
    assert convert(BIO, "bio", "bmes") == BMES
    assert convert(BIOES, "bioes") == BIO
    assert convert(convert(BIOES, "bioes"), "bio", "bioes") == BIOES
    assert to_spans(BIO) == [(0, 3, "ORG"), (4, 5, "PER"), (6, 8, "LOC")]
    assert from_spans(to_spans(BIO), len(BIO)) == BIO


def test_scheme_is_detected_from_its_prefixes():
    assert detect_scheme(BMES) == "bmes"
    assert detect_scheme(BIOES) == "bioes"
    assert detect_scheme(BIO) == "bio"


@pytest.mark.parametrize("tags, scheme, position, words", [
    (["B-PER", "I-LOC"], "bio", 1, "I-LOC after B-PER"),
    (["O", "I-LOC"], "bio", 1, "I-LOC after O"),
    (["B-PER", "O"], "bmes", 1, "never closed"),
    (["B-PER", "M-PER"], "bmes", 1, "never closed"),
    (["E-LOC"], "bmes", 0, "E-LOC after the sentence start"),
    (["X-PER"], "bio", 0, "unknown tag"),
    (["PER"], "bio", 0, "not O nor PREFIX-TYPE"),
])
def test_illegal_sequences_name_the_character(tags, scheme, position, words):
    with pytest.raises(TagError) as err:
        to_spans(tags, scheme)
    assert err.value.position == position
    assert words in str(err.value)


def test_a_type_outside_the_given_types_is_unknown():
    with pytest.raises(TagError, match="unknown tag 'B-MISC'"):
        to_spans(["B-MISC"], "bio", types=["PER", "LOC"])


def test_entity_scores_equal_a_hand_count():
    gold = [["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O", "B-ORG", "I-ORG", "I-ORG"],
            ["B-LOC", "O", "B-PER"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG", "I-ORG", "O", "B-ORG", "I-ORG", "O"],  # PER right; LOC as ORG; ORG cut short
            ["B-LOC", "O", "O"]]                                                  # LOC right; PER missed
    m = entity_metrics(gold, pred, ["PER", "LOC", "ORG"])
    # gold 5 entities, predicted 4, exactly right 2 (PER in sentence 1, LOC in sentence 2)
    assert m["precision"] == pytest.approx(2 / 4)
    assert m["recall"] == pytest.approx(2 / 5)
    assert m["f1"] == pytest.approx(2 * 0.5 * 0.4 / 0.9)
    assert m["per_type"]["PER"] == pytest.approx({"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2, "predicted": 1})
    assert m["per_type"]["ORG"]["precision"] == 0.0 and m["per_type"]["ORG"]["predicted"] == 2
    assert m["token_accuracy"] == pytest.approx(8 / 12)  # 6 of 9, then 2 of 3
    assert dict(m["confusions"]) == {"LOC read as ORG": 1, "ORG with wrong boundaries": 1, "PER missed": 1}


def test_entity_scores_agree_with_seqeval():
    from seqeval.metrics import classification_report, f1_score, precision_score, recall_score

    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG", "I-ORG", "I-ORG", "O", "B-PER"],
            ["B-LOC", "I-LOC", "I-LOC", "O"]]
    pred = [["B-PER", "I-PER", "O", "I-LOC"], ["O", "B-ORG", "I-ORG", "O", "O", "B-LOC"],
            ["B-LOC", "I-LOC", "I-LOC", "O"]]
    m = entity_metrics(gold, pred)
    assert m["precision"] == pytest.approx(precision_score(gold, pred))
    assert m["recall"] == pytest.approx(recall_score(gold, pred))
    assert m["f1"] == pytest.approx(f1_score(gold, pred))
    report = classification_report(gold, pred, output_dict=True)
    for kind in ("PER", "LOC", "ORG"):
        assert m["per_type"][kind]["f1"] == pytest.approx(report[kind]["f1-score"])
        assert m["per_type"][kind]["support"] == report[kind]["support"]


def test_spans_come_with_their_text_and_follow_repaired_tags():
    text = "江泽民在北京"
    assert entities(text, ["B-PER", "I-PER", "I-PER", "O", "B-LOC", "I-LOC"]) == [
        {"start": 0, "end": 3, "type": "PER", "text": "江泽民"},
        {"start": 4, "end": 6, "type": "LOC", "text": "北京"}]
    assert repair_bio(["I-LOC", "I-LOC", "B-PER", "I-LOC"]) == ["B-LOC", "I-LOC", "B-PER", "B-LOC"]
