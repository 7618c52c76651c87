"""`nlpfactory studio` refuses to start without its canvas library, and says how to get it."""

from nlpfactory.pipelines.cli import main
from nlpfactory.pipelines.studio import server


def test_missing_canvas_library_names_the_fix(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(server, "STATIC", tmp_path)
    assert main(["studio", "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert "drawflow.min.js" in err and "make studio-assets" in err
