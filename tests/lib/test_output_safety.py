"""An output never costs the user a file nlpfactory did not write (issue: `--output` was
replaced whole, deleting the input and everything beside it)."""

import os
import stat

import pytest

from nlpfactory.atomic import MARKER, atomic_dir
from nlpfactory.cli import main

ROWS = "text\tlabel\n" + "".join(f"第{i}条评论\t{'ab'[i % 2]}\n" for i in range(40))


@pytest.fixture
def project(tmp_path):
    data = tmp_path / "proj" / "data"
    data.mkdir(parents=True)
    (data / "raw.tsv").write_text(ROWS, encoding="utf-8")
    (data / "notes.md").write_text("mine", encoding="utf-8")
    return data


def test_prepare_refuses_an_output_folder_that_holds_its_input(project, capsys):
    assert main(["data", "prepare", "--input", str(project / "raw.tsv"), "--output", str(project)]) == 1
    assert "holds the input" in capsys.readouterr().err
    assert (project / "raw.tsv").read_text(encoding="utf-8") == ROWS and (project / "notes.md").exists()
    # --overwrite does not change that: the input would still be deleted
    assert main(["data", "prepare", "--input", str(project / "raw.tsv"), "--output", str(project),
                 "--overwrite"]) == 1
    assert (project / "raw.tsv").exists()


def test_prepare_refuses_a_folder_of_user_files_unless_overwrite(project, tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("x", encoding="utf-8")
    args = ["data", "prepare", "--input", str(project / "raw.tsv"), "--output", str(mine)]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "did not write" in err and "--overwrite" in err and (mine / "thesis.tex").exists()
    assert main([*args, "--overwrite"]) == 0
    assert not (mine / "thesis.tex").exists() and (mine / "train.parquet").exists()


def test_a_previous_output_is_replaced_but_a_file_added_to_it_is_kept(project, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["data", "prepare", "--input", str(project / "raw.tsv"), "--output", str(out)]
    assert main(args) == 0 and (out / MARKER).is_file()
    assert main(args) == 0  # our own output: replaced without a question
    (out / "analysis.ipynb").write_text("{}", encoding="utf-8")
    assert main(args) == 1
    assert (out / "analysis.ipynb").exists()


def test_an_output_that_is_a_file_is_refused(project, tmp_path, capsys):
    script = tmp_path / "some_file.py"
    script.write_text("print(1)", encoding="utf-8")
    assert main(["data", "prepare", "--input", str(project / "raw.tsv"), "--output", str(script)]) == 1
    assert "not a folder" in capsys.readouterr().err
    assert script.read_text(encoding="utf-8") == "print(1)"


def test_the_current_folder_is_refused(project, monkeypatch, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    assert main(["data", "prepare", "--input", str(project / "raw.tsv"), "--output", "."]) == 1
    assert "current folder" in capsys.readouterr().err


def test_an_unwritable_output_is_a_message_not_a_traceback(project, tmp_path, capsys):
    blocker = tmp_path / "file.tsv"
    blocker.write_text("x", encoding="utf-8")
    assert main(["data", "prepare", "--input", str(project / "raw.tsv"),
                 "--output", str(blocker / "out")]) == 1
    assert "error:" in capsys.readouterr().err


def test_an_output_in_a_system_folder_is_a_message(project, capsys):
    assert main(["data", "prepare", "--input", str(project / "raw.tsv"), "--output", "/proc/x"]) == 1
    err = capsys.readouterr().err
    assert "/proc/x" in err and "fix:" in err


def test_output_folders_get_ordinary_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_dir(tmp_path / "out") as tmp:
            (tmp / "a.txt").write_text("a", encoding="utf-8")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o755
