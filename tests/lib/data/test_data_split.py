import pandas as pd
import pytest

from nlpfactory.data.split import stratified_sample, stratified_split
from nlpfactory.errors import InputError


def frame(counts: dict[str, int], domains: dict[str, str] | None = None) -> pd.DataFrame:
    rows = [(f"{label}-{i}", label) for label, n in counts.items() for i in range(n)]
    out = pd.DataFrame(rows, columns=["text", "label"])
    if domains:
        out["domain"] = [domains[t] for t in out["text"]]
    return out


def texts(splits):
    return {name: part["text"].tolist() for name, part in splits.items()}


def test_same_seed_same_split_other_seed_other_split():
    data = frame({"a": 50, "b": 30})
    assert texts(stratified_split(data, 0.1, 0.2, 7)) == texts(stratified_split(data, 0.1, 0.2, 7))
    assert texts(stratified_split(data, 0.1, 0.2, 7)) != texts(stratified_split(data, 0.1, 0.2, 8))


def test_each_label_is_split_by_the_ratios():
    splits = stratified_split(frame({"a": 100, "b": 20}), 0.1, 0.2, 0)
    counts = {name: part["label"].value_counts().to_dict() for name, part in splits.items()}
    assert counts == {"train": {"a": 70, "b": 14}, "dev": {"a": 10, "b": 2},
                      "test": {"a": 20, "b": 4}}


def test_splits_partition_the_rows_and_keep_input_order():
    data = frame({"a": 40, "b": 13})
    splits = stratified_split(data, 0.1, 0.1, 3)
    everything = sum(texts(splits).values(), [])
    assert sorted(everything) == sorted(data["text"])
    for part in splits.values():
        order = [data.index[data["text"] == t][0] for t in part["text"]]
        assert order == sorted(order)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_a_tiny_label_keeps_a_row_in_train(n):
    splits = stratified_split(frame({"a": 50, "rare": n}), 0.4, 0.5, 0)
    assert (splits["train"]["label"] == "rare").sum() >= 1


def test_a_labels_split_does_not_change_when_another_label_is_added():
    before = stratified_split(frame({"a": 30}), 0.1, 0.1, 1)
    after = stratified_split(frame({"a": 30, "b": 10}), 0.1, 0.1, 1)
    for name in before:
        assert before[name]["text"].tolist() == [t for t in after[name]["text"] if t.startswith("a-")]


def test_rows_are_stratified_by_domain_and_label_when_there_are_domains():
    data = frame({"a": 40, "b": 40})
    data["domain"] = ["hotel" if i % 4 == 0 else "book" for i in range(len(data))]
    test = stratified_split(data, 0.1, 0.1, 0)["test"]
    assert test.groupby(["domain", "label"]).size().to_dict() == {
        ("book", "a"): 3, ("book", "b"): 3, ("hotel", "a"): 1, ("hotel", "b"): 1}


@pytest.mark.parametrize("dev, test", [(0.5, 0.5), (-0.1, 0.1), (0.9, 0.2)])
def test_ratios_must_leave_rows_to_train_on(dev, test):
    with pytest.raises(InputError, match="ratio"):
        stratified_split(frame({"a": 10}), dev, test, 0)


def test_sample_is_deterministic_and_proportional():
    data = frame({"a": 600, "b": 300, "c": 100})
    sample = stratified_sample(data, 100, 5)
    assert sample["label"].value_counts().to_dict() == {"a": 60, "b": 30, "c": 10}
    assert sample["text"].tolist() == stratified_sample(data, 100, 5)["text"].tolist()
    assert sample["text"].tolist() != stratified_sample(data, 100, 6)["text"].tolist()


def test_sample_keeps_every_label_when_it_can():
    sample = stratified_sample(frame({"a": 1000, "rare": 2}), 10, 0)
    assert len(sample) == 10 and (sample["label"] == "rare").sum() == 1


@pytest.mark.parametrize("n", [0, 30, 31, 1000])
def test_sample_of_zero_or_more_than_all_rows_is_everything(n):
    data = frame({"a": 20, "b": 10})
    assert stratified_sample(data, n, 0)["text"].tolist() == data["text"].tolist()
