"""The finetune pipeline with task=sequence_labeling under kfp's local runner."""

import json

import pytest

from nlpfactory.pipelines.cli import main


@pytest.mark.slow
def test_finetune_pipeline_tags_a_conll_file(tmp_path, monkeypatch, capsys):
    from helpers import ner_conll

    data = ner_conll(tmp_path / "ner.conll", 200)
    monkeypatch.chdir(tmp_path)
    code = main(["run", "finetune", "--local", "--param", f"data_source={data}", "--param", "task=sequence_labeling",
                 "--param", "model=tiny", "--param", "epochs=4", "--param", "learning_rate=0.003",
                 "--param", "batch_size=16", "--param", "max_length=16", "--output-root", str(tmp_path / "out")])
    assert code == 0
    assert "entity F1" in capsys.readouterr().out  # the evaluation report is shown
    cards = [json.loads(p.read_text()) for p in (tmp_path / "out").rglob("nlpfactory.json")]
    kinds = {c["kind"] for c in cards}
    assert {"tagger", "onnx_tagger"} <= kinds
    export = next(c for c in cards if c["kind"] == "onnx_tagger")
    assert export["export"]["checks"]["onnx_max_abs_diff"] < 1e-4
    assert "int8_entity_f1_drop" in export["export"]["checks"]
