"""Data that used to pass silently wrong: typed labels, one class, a header under --schema,
invisible texts, near-duplicates across splits, a GB18030 file called cp949."""

import json
import logging

import pytest

from nlpfactory.data.dataset import DatasetInfo, load_split, read_info, write_dataset
from nlpfactory.data.prepare import PrepareConfig, dedup_text, prepare_dataset
from nlpfactory.errors import InputError


def jsonl(write, labels, name="a.jsonl"):
    rows = [{"text": f"第{i}条评论", "label": label} for i, label in enumerate(labels)]
    return write(name, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


@pytest.mark.parametrize("label, kind", [(["pos"], "a list"), ({"x": "pos"}, "an object"),
                                         (True, "true/false")])
def test_a_label_that_is_not_a_single_value_is_refused_with_its_line(tmp_path, write, label, kind):
    path = jsonl(write, ["pos", "neg", label, "neg"])
    with pytest.raises(InputError, match=kind) as err:
        prepare_dataset(PrepareConfig(data_source=str(path)), tmp_path / "out")
    assert err.value.line == 3


def test_a_text_that_is_a_list_is_refused(tmp_path, write):
    path = write("a.jsonl", '{"text": "好", "label": "a"}\n{"text": ["坏"], "label": "b"}\n')
    with pytest.raises(InputError, match="a list") as err:
        prepare_dataset(PrepareConfig(data_source=str(path)), tmp_path / "out")
    assert err.value.line == 2


@pytest.mark.parametrize("labels, group", [([0, 1, 0.0, 1] * 5, "'0' (5 rows), '0.0' (5 rows)"),
                                           (["NEG", "pos", "Neg", "neg"] * 5, "'NEG' (5 rows), 'Neg' (5 rows), 'neg'")])
def test_labels_differing_in_case_or_number_format_are_reported(tmp_path, write, labels, group):
    path = jsonl(write, labels)
    with pytest.raises(InputError, match="differ only in letter case or number format") as err:
        prepare_dataset(PrepareConfig(data_source=str(path)), tmp_path / "out")
    assert group in str(err.value) and "--normalize-labels" in err.value.fix


def test_labels_are_merged_into_the_most_common_spelling_only_when_asked(tmp_path, write):
    path = jsonl(write, ["neg"] * 6 + ["NEG"] * 2 + ["pos"] * 8 + [1, 1.0, 1, 0] * 2)
    info = prepare_dataset(PrepareConfig(data_source=str(path), normalize_labels=True, dedup=False),
                           tmp_path / "out")
    assert info.labels == ["0", "1", "neg", "pos"]


def test_a_single_class_dataset_is_refused(tmp_path, write):
    path = jsonl(write, ["pos"] * 20)
    with pytest.raises(InputError, match="at least two classes"):
        prepare_dataset(PrepareConfig(data_source=str(path)), tmp_path / "out")
    single = write_dataset(tmp_path / "one", {"train": load_split_like(["pos"] * 4)},
                           DatasetInfo(task="classification", labels=["pos"]))
    with pytest.raises(InputError, match="at least two"):
        read_info(single)  # every training stage reads the Dataset through read_info


def load_split_like(labels):
    import pandas as pd

    return pd.DataFrame({"text": [f"t{i}" for i in range(len(labels))], "label": labels})


def test_a_split_without_some_class_is_warned_about(tmp_path, write, caplog):
    path = jsonl(write, ["pos"] * 30 + ["neg"] * 2)
    with caplog.at_level(logging.WARNING):
        prepare_dataset(PrepareConfig(data_source=str(path)), tmp_path / "out")
    assert "the dev split has no rows of 'neg'" in caplog.text


def test_a_header_line_under_a_schema_is_an_error_not_a_class(tmp_path, write):
    path = write("a.tsv", "text\tsentiment\n" + "".join(f"第{i}条\t{'ab'[i % 2]}\n" for i in range(20)))
    with pytest.raises(InputError, match="looks like a header") as err:
        prepare_dataset(PrepareConfig(data_source=str(path), schema="text:str:1,label:str:1"),
                        tmp_path / "out")
    assert err.value.line == 1


@pytest.mark.parametrize("invisible", ["\u200b", "\u200b\u200d", "\x07", "\u3000\u200b"])
def test_a_text_of_invisible_characters_is_empty(tmp_path, write, invisible):
    path = write("a.tsv", f"text\tlabel\n好的\ta\n{invisible}\tb\n")
    with pytest.raises(InputError, match="invisible") as err:
        prepare_dataset(PrepareConfig(data_source=str(path)), tmp_path / "out")
    assert err.value.line == 3


def test_near_duplicates_do_not_land_in_train_and_test(tmp_path, write):
    variants = ["房间很干净，服务好！", "房间很干净,服务好!", "房间 很干净，服务好！", "房间很\u200b干净，服务好！"]
    rows = [(v, "pos") for v in variants] + [(f"第{i}条，一般", "ab"[i % 2]) for i in range(40)]
    path = write("a.tsv", "text\tlabel\n" + "".join(f"{t}\t{lab}\n" for t, lab in rows))
    prepare_dataset(PrepareConfig(data_source=str(path), test_ratio=0.3), tmp_path / "out")
    texts = [t for split in ("train", "dev", "test") for t in load_split(tmp_path / "out", split)["text"]]
    assert sum(dedup_text(t) == dedup_text(variants[0]) for t in texts) == 1
    assert len({dedup_text(v) for v in variants}) == 1


def test_a_gb18030_file_gets_the_right_encoding_suggested(tmp_path, write):
    text = "text\tlabel\n" + "".join(f"这家酒店的房间很干净，服务也很周到{i}\t好\n" for i in range(30))
    path = write("a.tsv", text.encode("gb18030"))
    with pytest.raises(InputError) as err:
        prepare_dataset(PrepareConfig(data_source=str(path)), tmp_path / "out")
    assert "--encoding gb18030" in err.value.fix and err.value.line == 2


def test_deeply_nested_json_is_an_error_with_its_line(tmp_path, write):
    path = write("a.jsonl", '{"text": "好", "label": "a"}\n' + "[" * 100000 + "\n")
    with pytest.raises(InputError) as err:
        prepare_dataset(PrepareConfig(data_source=str(path)), tmp_path / "out")
    assert err.value.line == 2
