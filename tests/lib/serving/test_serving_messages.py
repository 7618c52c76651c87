"""predict/export/serve: outputs that would destroy something are refused, and bad input is a
message (it used to be a traceback or a `.partial` file left behind)."""

import os
import stat

import pytest

from nlpfactory.cli import main


@pytest.fixture
def review_file(tmp_path):
    path = tmp_path / "in.tsv"
    path.write_text("text\n房间很干净\n服务太差了\n", encoding="utf-8")
    return path


def _no_partial(folder):
    return not [p for p in folder.rglob("*.partial*")]


def test_export_refuses_to_write_over_its_model(built, capsys):
    model_dir, _, _ = built
    before = sorted(p.name for p in model_dir.iterdir())
    assert main(["export", "--model", str(model_dir), "--output", str(model_dir)]) == 1
    assert "holds the input" in capsys.readouterr().err
    assert sorted(p.name for p in model_dir.iterdir()) == before


@pytest.mark.parametrize("output, message", [("out.py", "cannot tell the format"),
                                             ("in.tsv", "is the input file"),
                                             (".", "is a folder"),
                                             ("in.tsv/out.tsv", "is a file, so it cannot hold"),
                                             ("/proc/x.tsv", "cannot write in /proc")])
def test_predict_output_problems_are_messages_before_any_work(built, review_file, monkeypatch, capsys,
                                                             output, message):
    _, export_dir, _ = built
    monkeypatch.chdir(review_file.parent)
    assert main(["predict", "--model", str(export_dir), "--input", "in.tsv", "--output", output]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert review_file.read_text(encoding="utf-8").startswith("text\n")
    assert _no_partial(review_file.parent)


def test_predict_reads_a_gbk_file_with_encoding_and_says_so_without(built, tmp_path, capsys):
    _, export_dir, _ = built
    source = tmp_path / "gbk.tsv"
    source.write_bytes("text\n这家酒店很干净\n服务太差了\n".encode("gbk"))
    assert main(["predict", "--model", str(export_dir), "--input", str(source),
                 "--output", str(tmp_path / "o.tsv")]) == 1
    assert "--encoding gb18030" in capsys.readouterr().err
    assert main(["predict", "--model", str(export_dir), "--input", str(source),
                 "--output", str(tmp_path / "o.tsv"), "--encoding", "gb18030"]) == 0
    assert len((tmp_path / "o.tsv").read_text(encoding="utf-8").splitlines()) == 3
    mask = os.umask(0o022)
    os.umask(mask)
    assert stat.S_IMODE((tmp_path / "o.tsv").stat().st_mode) == 0o666 & ~mask  # not private


def test_predict_counts_invisible_texts_as_empty(built, tmp_path, capsys):
    _, export_dir, _ = built
    source = tmp_path / "in.tsv"
    source.write_text("text\n好\n\u200b\u200b\n", encoding="utf-8")
    assert main(["predict", "--model", str(export_dir), "--input", str(source),
                 "--output", str(tmp_path / "o.tsv")]) == 1
    assert "line 3" in capsys.readouterr().err and not (tmp_path / "o.tsv").exists()


def test_serve_with_an_impossible_port_is_a_message(built, capsys):
    _, export_dir, _ = built
    assert main(["serve", str(export_dir), "--port", "99999"]) == 1
    assert "not a TCP port" in capsys.readouterr().err
