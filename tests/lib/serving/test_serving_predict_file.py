"""Batch prediction over files: every format, streamed in chunks, bad rows reported by line
with nothing written."""

import json

import pandas as pd
import pytest
from conftest import LABELS

from nlpfactory.cli import main
from nlpfactory.errors import InputError
from nlpfactory.predictor import load_predictor
from nlpfactory.serving.predict_file import PredictConfig, predict_file
from nlpfactory.serving.table_stream import read_chunks


def write_table(path, frame):
    suffix = path.suffix
    if suffix == ".parquet":
        frame.to_parquet(path, index=False, row_group_size=7)
    elif suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".tsv":
        path.write_text("\t".join(frame.columns) + "\n" + "".join(
            "\t".join(map(str, row)) + "\n" for row in frame.itertuples(index=False)), encoding="utf-8")
    else:
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in frame.to_dict("records")),
                        encoding="utf-8")
    return path


def read_table(path):
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix == ".jsonl":
        return pd.read_json(path, lines=True, dtype=False)
    frame = pd.read_csv(path, sep="\t" if path.suffix == ".tsv" else ",", dtype=str, quoting=3 if path.suffix == ".tsv" else 0)
    frame["probabilities"] = frame["probabilities"].map(json.loads)
    return frame


@pytest.fixture
def table(texts):
    texts = [*texts[:-1], 'quotes "inside", and commas']
    return pd.DataFrame({"id": [f"r{i}" for i in range(len(texts))], "text": texts})


@pytest.mark.parametrize("source", [".tsv", ".csv", ".jsonl", ".parquet"])
@pytest.mark.parametrize("target", [".tsv", ".csv", ".jsonl", ".parquet"])
def test_every_format_keeps_the_input_columns_and_adds_predictions(built, tmp_path, table, source, target):
    _, export_dir, _ = built
    src = write_table(tmp_path / f"in{source}", table)
    result = predict_file(PredictConfig(batch_size=4), export_dir, src, tmp_path / f"out{target}")
    out = read_table(result.path)
    assert list(out.columns) == ["id", "text", "prediction", "probabilities"]
    assert out["id"].tolist() == table["id"].tolist() and out["text"].tolist() == table["text"].tolist()
    assert out["prediction"].tolist() == load_predictor(export_dir).predict(table["text"].tolist())
    assert all(len(p) == 2 and abs(sum(p) - 1) < 1e-4 for p in out["probabilities"])
    assert result.rows == len(table) and sum(result.label_counts.values()) == len(table)


def test_files_are_read_in_bounded_chunks(tmp_path, table):
    for suffix in (".tsv", ".csv", ".jsonl", ".parquet"):
        chunks = list(read_chunks(write_table(tmp_path / f"in{suffix}", table), chunk_rows=6))
        assert max(len(c.frame) for c in chunks) <= 6 and sum(len(c.frame) for c in chunks) == len(table)
        first_number = 2 if suffix in (".tsv", ".csv") else 1  # the header is line 1
        assert chunks[0].numbers[0] == first_number


def test_a_model_folder_predicts_through_its_kind_and_matches_the_export(built, tmp_path, table):
    model_dir, export_dir, _ = built
    src = write_table(tmp_path / "in.csv", table)
    from_model = predict_file(PredictConfig(), model_dir, src, tmp_path / "a.csv")
    from_export = predict_file(PredictConfig(precision="fp32"), export_dir, src, tmp_path / "b.csv")
    assert read_table(from_model.path)["prediction"].tolist() == read_table(from_export.path)["prediction"].tolist()


def test_bad_rows_are_reported_by_line_and_nothing_is_written(built, tmp_path):
    _, export_dir, _ = built
    src = tmp_path / "in.tsv"
    src.write_text("id\ttext\n1\t好酒店\n2\t\n3\t差\n\n4\t   \n5\t不错\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        predict_file(PredictConfig(batch_size=1), export_dir, src, tmp_path / "out.tsv")
    message = str(err.value)
    assert "line 3 ('text')" in message and "line 6 ('text')" in message and "2 row(s)" in message
    assert "nothing was written" in message and err.value.line == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.tsv"]


def test_missing_json_field_and_parquet_null_are_bad_rows(built, tmp_path):
    _, export_dir, _ = built
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "好"}\n{"id": 2}\n{"text": null}\n', encoding="utf-8")
    frame = pd.DataFrame({"text": ["好", None, "差"]})
    parquet = write_table(tmp_path / "in.parquet", frame)
    with pytest.raises(InputError, match=r"line 2 .*line 3"):
        predict_file(PredictConfig(), export_dir, src, tmp_path / "out.jsonl")
    with pytest.raises(InputError, match=r"row 2 \('text'\)"):
        predict_file(PredictConfig(), export_dir, parquet, tmp_path / "out.parquet")
    assert not (tmp_path / "out.jsonl").exists() and not (tmp_path / "out.parquet").exists()


def test_a_missing_text_column_names_the_columns_it_has(built, tmp_path):
    _, export_dir, _ = built
    src = write_table(tmp_path / "in.csv", pd.DataFrame({"sentence": ["好"]}))
    with pytest.raises(InputError, match=r"no column 'text' \(its columns: sentence\)"):
        predict_file(PredictConfig(), export_dir, src, tmp_path / "out.csv")
    result = predict_file(PredictConfig(text_column="sentence"), export_dir, src, tmp_path / "out.csv")
    assert result.rows == 1


def test_cli_predicts_a_dataset_split(built, tmp_path, capsys):
    _, export_dir, dataset_dir = built
    out = tmp_path / "pred.parquet"
    code = main(["predict", "--model", str(export_dir), "--input", str(dataset_dir), "--split", "dev",
                 "--output", str(out), "--batch-size", "8"])
    assert code == 0
    frame = pd.read_parquet(out)
    assert set(frame["prediction"]) <= set(LABELS) and "label" in frame
    assert f"-> {out}" in capsys.readouterr().out


def test_pairs_are_read_from_the_second_text_column(built, tmp_path, texts):
    _, export_dir, _ = built
    frame = pd.DataFrame({"question": texts[:10], "answer": texts[10:20]})
    src = write_table(tmp_path / "pairs.csv", frame)
    result = predict_file(PredictConfig(text_column="question", text_b_column="answer"), export_dir, src,
                          tmp_path / "out.csv")
    expected = load_predictor(export_dir).predict(texts[:10], texts[10:20])
    assert read_table(result.path)["prediction"].tolist() == expected


def test_many_bad_rows_are_counted_and_the_first_ones_listed(built, tmp_path):
    _, export_dir, _ = built
    src = write_table(tmp_path / "in.csv", pd.DataFrame({"text": ["好"] + [""] * 15}))
    with pytest.raises(InputError, match=r"15 row\(s\) .*line 3 .*line 12 \('text'\) and 5 more"):
        predict_file(PredictConfig(batch_size=2), export_dir, src, tmp_path / "out.csv")
