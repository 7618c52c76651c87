import json

import pandas as pd
import pytest

from nlpfactory.data.readers import Columns, read_file
from nlpfactory.errors import InputError

ROWS = [("房间很干净", "positive"), ("屏幕太暗了", "negative")]


def as_lists(frame):
    return frame.to_dict("list")


def test_tsv_with_header(write):
    path = write("a.tsv", "text\tlabel\n房间很干净\tpositive\n屏幕太暗了\tnegative\n")
    frame = read_file(path)
    assert as_lists(frame) == {"text": ["房间很干净", "屏幕太暗了"], "label": ["positive", "negative"]}


def test_txt_is_read_as_tsv(write):
    path = write("a.txt", "text\tlabel\n房间很干净\tpositive\n")
    assert len(read_file(path)) == 1


def test_tsv_keeps_quote_marks_in_text(write):
    path = write("a.tsv", 'text\tlabel\n他说"好"\tpositive\n')
    assert read_file(path)["text"][0] == '他说"好"'


def test_headerless_tsv_takes_names_from_the_schema(write):
    path = write("a.tsv", "positive\t房间很干净\nnegative\t屏幕太暗了\n")
    frame = read_file(path, schema="label:str:1,text:str:1")
    assert as_lists(frame) == {"text": ["房间很干净", "屏幕太暗了"], "label": ["positive", "negative"]}


def test_a_header_that_repeats_the_schema_names_is_skipped(write):
    path = write("a.tsv", "label\ttext\npositive\t房间很干净\n")
    assert len(read_file(path, schema="label:str:1,text:str:1")) == 1


def test_columns_are_renamed_to_the_standard_ones(write):
    path = write("a.tsv", "id\tsentence1\tsentence2\ty\tsrc\n1\t今天下雨\t天气不好\tentail\tnews\n")
    frame = read_file(path, Columns(text="sentence1", text_b="sentence2", label="y", domain="src"))
    assert list(frame.columns) == ["text", "text_b", "label", "domain"]
    assert frame.iloc[0].tolist() == ["今天下雨", "天气不好", "entail", "news"]


def test_csv_with_quoted_commas_and_newlines(write):
    path = write("a.csv", 'text,label\n"好,很好",positive\n"第一行\n第二行",negative\n')
    frame = read_file(path)
    assert frame["text"].tolist() == ["好,很好", "第一行\n第二行"]


def test_jsonl_turns_numeric_labels_into_names(write):
    lines = [json.dumps({"text": t, "label": i, "extra": None}, ensure_ascii=False)
             for i, (t, _) in enumerate(ROWS)]
    frame = read_file(write("a.jsonl", "\n".join(lines) + "\n"))
    assert frame["label"].tolist() == ["0", "1"]


def test_parquet(tmp_path):
    path = tmp_path / "a.parquet"
    pd.DataFrame(ROWS, columns=["review", "label"]).to_parquet(path)
    frame = read_file(path, Columns(text="review"))
    assert as_lists(frame) == {"text": ["房间很干净", "屏幕太暗了"], "label": ["positive", "negative"]}


def test_utf8_bom_and_crlf_line_ends_are_handled(write):
    tsv = write("a.tsv", "\ufefftext\tlabel\r\n房间很干净\tpositive\r\n屏幕太暗了\tnegative\r\n")
    csv = write("a.csv", "\ufefftext,label\r\n房间很干净,positive\r\n屏幕太暗了,negative\r\n")
    jsonl = write("a.jsonl", '\ufeff{"text": "房间很干净", "label": "positive"}\r\n'
                             '{"text": "屏幕太暗了", "label": "negative"}\r\n')
    for path in (tsv, csv, jsonl):
        assert as_lists(read_file(path)) == {"text": ["房间很干净", "屏幕太暗了"],
                                             "label": ["positive", "negative"]}, path


def test_blank_lines_are_skipped_and_fields_trimmed(write):
    path = write("a.tsv", "text\tlabel\n\n 房间很干净 \tpositive\n   \n")
    assert as_lists(read_file(path)) == {"text": ["房间很干净"], "label": ["positive"]}


def test_another_encoding_when_asked(write):
    path = write("a.tsv", "text\tlabel\n房间很干净\tpositive\n", encoding="gb18030")
    assert read_file(path, encoding="gb18030")["text"][0] == "房间很干净"


def test_unknown_extension_names_the_formats(write):
    with pytest.raises(InputError, match=r"\.jsonl"):
        read_file(write("a.xlsx", "x"))
