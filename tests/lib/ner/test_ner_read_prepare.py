import pandas as pd
import pytest

from nlpfactory.data.dataset import load_split, read_info
from nlpfactory.data.prepare import PrepareConfig, prepare_dataset
from nlpfactory.errors import InputError
from nlpfactory.ner.corpora import pd98_entities, pd98_words
from nlpfactory.ner.read import read_tagged

CONLL = "江 B-PER\n泽 M-PER\n民 E-PER\n在 O\n京 S-LOC\n\n新 B-ORG\n华 M-ORG\n社 E-ORG\n"


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_conll_is_recognised_by_shape_and_converted_to_bio(tmp_path):
    frame = read_tagged(_write(tmp_path / "ner.txt", CONLL))
    assert frame["text"].tolist() == ["江泽民在京", "新华社"]
    assert frame["tags"].tolist() == [["B-PER", "I-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "I-ORG", "I-ORG"]]


def test_a_table_with_space_separated_tags_reads_the_same(tmp_path):
    path = _write(tmp_path / "ner.tsv", "text\ttags\n江泽民在京\tB-PER I-PER I-PER O B-LOC\n")
    assert read_tagged(path)["tags"].tolist() == [["B-PER", "I-PER", "I-PER", "O", "B-LOC"]]


@pytest.mark.parametrize("name, content, line, words", [
    ("count.tsv", "text\ttags\n江泽民\tB-PER I-PER I-PER\n北京\tB-LOC\n", 3, "1 tags for 2 characters"),
    ("transition.tsv", "text\ttags\n江北\tB-PER I-LOC\n", 2, "I-LOC after B-PER"),
    ("unknown.tsv", "text\ttags\n江北\tB-PER Q-PER\n", 2, "unknown tag 'Q-PER'"),
    ("empty.tsv", "text\ttags\n\tO\n", 2, "empty"),
    ("transition.conll", "江 B-PER\n北 I-PER\n\n上 B-PER\n海 I-LOC\n", 5, "I-LOC after B-PER"),
    ("broken.conll", "江 B-PER\n北\n", 2, "expected one character and its tag"),
    ("unknown.conll", "江 B-MISC\n", 1, "unknown tag 'B-MISC'"),
])
def test_bad_input_names_file_and_line_and_leaves_no_output(tmp_path, name, content, line, words):
    path = _write(tmp_path / name, content)
    out = tmp_path / "dataset"
    with pytest.raises(InputError) as err:
        prepare_dataset(PrepareConfig(data_source=str(path), task="sequence_labeling",
                                      labels=["PER", "LOC", "ORG"]), out)
    assert name in str(err.value) and f"line {line}" in str(err.value) and words in str(err.value)
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == [name]


def test_prepare_writes_tags_and_tag_names(tmp_path):
    sentences = "".join(f"{c}北 B-LOC\n".replace("北 B-LOC", " B-PER\n北 O") + "\n" for c in "甲乙丙丁戊己庚辛壬癸")
    path = _write(tmp_path / "data.conll", sentences)
    info = prepare_dataset(PrepareConfig(data_source=str(path), dev_ratio=0.2, test_ratio=0.2), tmp_path / "ds")
    assert info.task == "sequence_labeling" and info.labels == ["O", "B-PER", "I-PER"]
    assert info.rows == {"train": 6, "dev": 2, "test": 2}
    assert read_info(tmp_path / "ds").labels == info.labels
    train = load_split(tmp_path / "ds", "train")
    assert all(list(t) == ["B-PER", "O"] for t in train["tags"])
    assert isinstance(train, pd.DataFrame) and set(train.columns) == {"text", "tags"}


def test_people_daily_tags_become_entities_with_brackets_and_split_names():
    words = pd98_words("[中国/ns 政府/n]nt  代表/n  江/nr  泽民/nr  在/p  [北京/ns 饭店/n]l  会见/v  张/nr  。/w")
    text, spans = pd98_entities(words)
    assert text == "中国政府代表江泽民在北京饭店会见张。"
    assert [(text[a:b], kind) for a, b, kind in spans] == [
        ("中国政府", "ORG"), ("江泽民", "PER"), ("北京", "LOC"), ("张", "PER")]


def test_two_brackets_side_by_side_are_two_entities():
    text, spans = pd98_entities(pd98_words("[中国/ns 银行/n]nt  [人民/n 日报/n]nt"))
    assert [text[a:b] for a, b, _ in spans] == ["中国银行", "人民日报"]


def test_a_tagged_table_with_a_domain_column_prepares_a_multi_domain_dataset(tmp_path):
    rows = "".join(f"{c}在京\tB-PER O B-LOC\t{'news' if i % 2 else 'forum'}\n" for i, c in enumerate("甲乙丙丁戊己庚辛壬癸"))
    path = _write(tmp_path / "ner.tsv", "text\ttags\tsource\n" + rows)
    info = prepare_dataset(PrepareConfig(data_source=str(path), task="sequence_labeling", domain_col="source",
                                         dev_ratio=0.2, test_ratio=0.2), tmp_path / "ds")
    assert info.domains == ["forum", "news"]
    train = load_split(tmp_path / "ds", "train")
    assert set(train.columns) == {"text", "tags", "domain"}
    assert all(d == ("news" if "甲乙丙丁戊己庚辛壬癸".index(t[0]) % 2 else "forum") for t, d in zip(train["text"], train["domain"]))


def test_a_tagged_row_without_its_domain_is_named(tmp_path):
    path = _write(tmp_path / "ner.tsv", "text\ttags\tsource\n江北\tB-LOC I-LOC\tnews\n上海\tB-LOC I-LOC\t\n")
    with pytest.raises(InputError, match="no domain") as err:
        prepare_dataset(PrepareConfig(data_source=str(path), task="sequence_labeling", domain_col="source"),
                        tmp_path / "ds")
    assert "ner.tsv" in str(err.value) and "line 3" in str(err.value)
    assert not (tmp_path / "ds").exists()
