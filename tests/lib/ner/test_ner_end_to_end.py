"""prepare → finetune → evaluate → distill → export → predict/serve for sequence labeling, on
a small synthetic CoNLL file (names and places in fixed frames, so a tiny model learns them)."""

import json

import pytest
import torch
from helpers import ner_conll

from nlpfactory.data.prepare import PrepareConfig, prepare_dataset
from nlpfactory.distill.config import DistillConfig
from nlpfactory.distill.run import distill
from nlpfactory.evaluate import EvaluateConfig, score_split
from nlpfactory.finetune import FinetuneConfig, finetune
from nlpfactory.ner.kd import token_kd_loss
from nlpfactory.ner.predict import entities
from nlpfactory.predictor import load_predictor


def test_token_kd_loss_ignores_padding_and_unlabelled_tokens():
    student, teacher = torch.randn(2, 5, 3), torch.randn(2, 5, 3)
    tags = torch.tensor([[-100, 0, 1, -100, -100], [-100, 2, -100, -100, -100]])
    loss = token_kd_loss(student, teacher, tags, temperature=2.0, alpha=0.5)
    changed_s, changed_t = student.clone(), teacher.clone()
    changed_s[tags == -100] = 50.0
    changed_t[tags == -100] = -50.0
    assert token_kd_loss(changed_s, changed_t, tags, 2.0, 0.5) == pytest.approx(loss.item())
    kept = tags != -100
    p = torch.softmax(teacher[kept] / 2, -1)
    kl = (p * (p.log() - torch.log_softmax(student[kept] / 2, -1))).sum(-1).mean() * 4
    ce = torch.nn.functional.cross_entropy(student[kept], tags[kept])
    assert loss.item() == pytest.approx((0.5 * kl + 0.5 * ce).item(), rel=1e-5)


@pytest.mark.slow
def test_sequence_labeling_through_every_stage(tmp_path):
    data = prepare_dataset(PrepareConfig(data_source=str(ner_conll(tmp_path / "ner.conll", 240)), dedup=False),
                           tmp_path / "ds")
    assert data.labels == ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
    train = dict(epochs=4, batch_size=16, learning_rate=3e-3, max_length=12, checkpoint_every_steps=0)
    teacher = finetune(FinetuneConfig(model="tiny", vocab_size=200, **train), tmp_path / "ds", tmp_path / "teacher")
    assert teacher.dev_metrics["entity_f1"] > 0.8  # max_length 12 < most sentences: windows are used

    evaluation = score_split(tmp_path / "teacher", tmp_path / "ds", EvaluateConfig())
    assert evaluation.scalars()["entity_f1"] > 0.8 and "f1_PER" in evaluation.scalars()
    assert "| PER |" in evaluation.report and len(evaluation.metrics["confusion_matrix"]) == 5

    student = distill(DistillConfig(student="tiny", **train), tmp_path / "ds", str(tmp_path / "teacher"),
                      tmp_path / "student")
    assert student.dev_metrics["entity_f1"] > 0.5

    from nlpfactory.serving.export import ExportConfig, export

    exported = export(ExportConfig(), tmp_path / "student", tmp_path / "export", tmp_path / "ds")
    assert exported.metrics["onnx_max_abs_diff"] < 1e-4 and "int8_entity_f1_drop" in exported.metrics

    text = "昨天王芳到杭州开会。张伟在北京工作。李娜去了深圳。"  # longer than max_length: stitched
    eager = load_predictor(tmp_path / "student").predict_entities([text])[0]
    from nlpfactory.serving.onnx_predictor import open_predictor

    onnx = open_predictor(tmp_path / "export", precision="fp32").predict_entities([text])[0]
    assert onnx == eager and eager["entities"] == entities(text, eager["tags"])
    assert len(eager["tags"]) == len(text)

    from fastapi.testclient import TestClient

    from nlpfactory.serving.server import ServeConfig, create_app

    client = TestClient(create_app(open_predictor(tmp_path / "export", precision="fp32"), ServeConfig()))
    served = client.post("/v1/predict", json={"texts": [text]}).json()["predictions"][0]
    assert served["entities"] == entities(text, served["tags"]) == onnx["entities"]
    assert json.dumps(served, ensure_ascii=False)

    from nlpfactory.serving.predict_file import PredictConfig, predict_file

    (tmp_path / "in.tsv").write_text(f"text\n{text}\n", encoding="utf-8")
    written = predict_file(PredictConfig(precision="fp32"), tmp_path / "export", tmp_path / "in.tsv", tmp_path / "out.jsonl")
    row = json.loads((tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert row["tags"].split() == onnx["tags"] and json.loads(row["entities"]) == onnx["entities"]
    assert sum(written.label_counts.values()) == len(onnx["entities"])
