import pandas as pd
import pytest

from nlpfactory.errors import InputError
from nlpfactory.fewshot.sampler import balanced_batches, sample_k_shot


def frame():
    rows = [(f"a{i}", "pos") for i in range(30)] + [(f"b{i}", "neg") for i in range(20)] + \
           [(f"c{i}", "mid") for i in range(5)]
    return pd.DataFrame(rows, columns=["text", "label"])


def test_k_shot_takes_exactly_k_rows_of_every_label():
    shots = sample_k_shot(frame(), k=4, seed=1, labels=["pos", "neg", "mid"])
    assert shots["label"].value_counts().to_dict() == {"pos": 4, "neg": 4, "mid": 4}
    assert shots["text"].is_unique


def test_k_shot_is_seeded():
    same = [sample_k_shot(frame(), 4, seed=7)["text"].tolist() for _ in range(2)]
    other = sample_k_shot(frame(), 4, seed=8)["text"].tolist()
    assert same[0] == same[1]
    assert sorted(other) != sorted(same[0])


def test_k_shot_draw_of_a_label_ignores_other_labels_rows():
    full = sample_k_shot(frame(), 4, seed=3, labels=["mid", "neg", "pos"])
    without_mid = frame()[frame()["label"] != "mid"]
    fewer = sample_k_shot(without_mid, 4, seed=3, labels=["pos", "neg"])
    assert set(full[full["label"] == "neg"]["text"]) == set(fewer[fewer["label"] == "neg"]["text"])


def test_k_shot_refuses_a_label_with_too_few_rows():
    with pytest.raises(InputError, match="'mid' has 5 train rows"):
        sample_k_shot(frame(), k=6, seed=0)
    assert len(sample_k_shot(frame(), k=6, seed=0, strict=False)) == 6 + 6 + 5


def test_k_shot_refuses_a_label_missing_from_the_split():
    with pytest.raises(InputError, match="'other' has 0"):
        sample_k_shot(frame(), k=2, seed=0, labels=["pos", "other"])


def test_balanced_batches_hold_every_class_at_least_twice():
    labels = [0] * 16 + [1] * 16 + [2] * 16
    batches = balanced_batches(labels, batch_size=4, seed=0)
    assert batches == balanced_batches(labels, batch_size=4, seed=0)
    assert len(batches) == 8  # 16 rows of the largest class, 2 per batch
    seen = set()
    for batch in batches:
        counts = [sum(labels[i] == c for i in batch) for c in range(3)]
        assert counts == [2, 2, 2]
        assert len(set(batch)) == len(batch)
        seen.update(batch)
    assert seen == set(range(48))


def test_balanced_batches_use_the_batch_size_when_classes_allow():
    batches = balanced_batches([0] * 8 + [1] * 8, batch_size=8, seed=1)
    assert [len(b) for b in batches] == [8, 8]
