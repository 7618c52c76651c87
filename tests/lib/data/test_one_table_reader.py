"""`prepare` and `predict` read a file the same way: the same rows, or the same error."""

import pandas as pd
import pytest

from nlpfactory.data.readers import Columns, read_file
from nlpfactory.errors import InputError
from nlpfactory.serving.table_stream import read_chunks

FILES = {
    "empty column name in the header.tsv": "text\t\tlabel\n好\tx\ta\n",
    "blank and space-only lines.tsv": "text\tlabel\n好\ta\n\n   \n坏\tb\n",
    "crlf line ends.tsv": "text\tlabel\r\n好\ta\r\n坏\tb\r\n",
    "carriage return inside a field.tsv": "text\tlabel\n好\r还行\ta\n坏\tb\n",
    "byte-order mark.tsv": "\ufefftext\tlabel\n好\ta\n",
    "a row too wide.tsv": "text\tlabel\n好\ta\n坏\tb\textra\n",
    "header only.tsv": "text\tlabel\n",
    "unicode line separator inside a text.tsv": "text\tlabel\n好\u2028的\ta\n",
    "quoted field over two lines.csv": 'text,label\n"好,\n的",a\n坏,b\n',
    "space-only line.csv": "text,label\n好,a\n  \n坏,b\n",
    "json with blank lines.jsonl": '{"text": "好", "label": "a"}\n\n{"text": "坏", "label": "b"}\n',
    "json that is not an object.jsonl": '{"text": "好", "label": "a"}\n[1, 2]\n',
}


def _prepare_rows(path, encoding):
    frame = read_file(path, Columns("text", "label"), encoding=encoding)
    return frame[["text", "label"]].values.tolist()


def _predict_rows(path, encoding):
    frame = pd.concat([c.frame for c in read_chunks(path, 1, encoding)], ignore_index=True)
    return [[str(v).strip() for v in row] for row in frame[["text", "label"]].values.tolist()]


def _outcome(read, path, encoding="utf-8"):
    try:
        return "rows", read(path, encoding)
    except InputError as err:
        return "error", str(err)


@pytest.mark.parametrize("name", sorted(FILES))
def test_prepare_and_predict_read_the_same_rows_or_fail_the_same_way(tmp_path, name):
    path = tmp_path / name.replace(" ", "_")
    path.write_bytes(FILES[name].encode("utf-8"))
    assert _outcome(_prepare_rows, path) == _outcome(_predict_rows, path)


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_a_gbk_file_reads_the_same_in_both(tmp_path, encoding):
    path = tmp_path / "gbk.tsv"
    path.write_bytes("text\tlabel\n这家酒店很干净\t好\n服务太差了\t差\n".encode("gbk"))
    prepared, predicted = _outcome(_prepare_rows, path, encoding), _outcome(_predict_rows, path, encoding)
    assert prepared == predicted
    assert prepared[0] == ("error" if encoding == "utf-8" else "rows")
