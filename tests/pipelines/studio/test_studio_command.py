"""`nlpfactory studio` refuses to start without its canvas library, and says how to get it."""

from nlpfactory.pipelines.cli import main
from nlpfactory.pipelines.studio import server


def test_missing_canvas_library_names_the_fix(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(server, "STATIC", tmp_path)
    assert main(["studio", "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert "drawflow.min.js" in err and "make studio-assets" in err


def test_the_page_files_are_package_data():
    import fnmatch
    from pathlib import Path

    import tomllib

    root = Path(__file__).resolve().parents[3]
    patterns = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"][
        "nlpfactory.pipelines.studio"]
    studio = root / "pipelines" / "studio"
    for path in studio.joinpath("static").rglob("*"):
        if path.is_file():
            relative = path.relative_to(studio).as_posix()
            assert any(fnmatch.fnmatch(relative, p) for p in patterns), f"{relative} is not package data"
