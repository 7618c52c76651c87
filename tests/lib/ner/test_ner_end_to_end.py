"""prepare → finetune → evaluate → distill → compare → export → predict/serve for sequence
labeling, on a small synthetic CoNLL file (names and places in fixed frames, so a tiny model
learns them). Evaluate, compare and export run as their components' bodies, as a pipeline's
tasks run them: with tests/pipelines/test_pipeline_dags.py (the task option reaches the
prepare step of every recipe that takes it) this holds the tagger recipes without running
each pipeline."""

import json

import pytest
import torch
from helpers import ner_conll
from task_body import run_task

from nlpfactory.data.prepare import PrepareConfig, prepare_dataset
from nlpfactory.distill.config import DistillConfig
from nlpfactory.distill.run import distill
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
def test_sequence_labeling_through_every_stage(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # the tasks' tracking is not what is held here
    data = prepare_dataset(PrepareConfig(data_source=str(ner_conll(tmp_path / "ner.conll", 240)), dedup=False),
                           tmp_path / "ds")
    assert data.labels == ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
    train = dict(epochs=4, batch_size=16, learning_rate=3e-3, max_length=12, checkpoint_every_steps=0)
    teacher = finetune(FinetuneConfig(model="tiny", vocab_size=200, **train), tmp_path / "ds", tmp_path / "teacher")
    assert teacher.dev_metrics["entity_f1"] > 0.8  # max_length 12 < most sentences: windows are used

    ds = str(tmp_path / "ds")
    _, evaluated = run_task("evaluate", tmp_path / "evaluate-teacher", {"model": str(tmp_path / "teacher"), "dataset": ds},
                            model_name="teacher")
    assert evaluated["metrics"].metadata["entity_f1"] > 0.8 and "f1_PER" in evaluated["metrics"].metadata
    report = (tmp_path / "evaluate-teacher" / "report").read_text(encoding="utf-8")
    assert "entity F1 **" in report and "| PER |" in report
    assert len(evaluated["confusion"].metadata["confusionMatrix"]["rows"]) == 5

    student = distill(DistillConfig(student="tiny", **train), tmp_path / "ds", str(tmp_path / "teacher"),
                      tmp_path / "student")
    assert student.dev_metrics["entity_f1"] > 0.5
    _, student_evaluated = run_task("evaluate", tmp_path / "evaluate-student",
                                    {"model": str(tmp_path / "student"), "dataset": ds}, model_name="student")
    _, compared = run_task("compare", tmp_path / "compare", {
        "teacher": str(tmp_path / "teacher"), "student": str(tmp_path / "student"), "dataset": ds,
        "teacher_metrics": evaluated["metrics"].metadata, "student_metrics": student_evaluated["metrics"].metadata},
        latency_samples=3)
    report = (tmp_path / "compare" / "report").read_text(encoding="utf-8")
    assert "| model | entity F1 |" in report and "| entity type | teacher F1 | student F1 |" in report
    assert compared["metrics"].metadata["student_entity_f1"] == student_evaluated["metrics"].metadata["entity_f1"]

    _, exported = run_task("export", tmp_path / "export-task", {"model": str(tmp_path / "student"), "dataset": ds})
    assert exported["metrics"].metadata["onnx_max_abs_diff"] < 1e-4 and "int8_entity_f1_drop" in exported["metrics"].metadata
    export_dir = tmp_path / "export-task" / "exported_model"
    assert json.loads((export_dir / "nlpfactory.json").read_text())["kind"] == "onnx_tagger"

    text = "昨天王芳到杭州开会。张伟在北京工作。李娜去了深圳。"  # longer than max_length: stitched
    eager = load_predictor(tmp_path / "student").predict_entities([text])[0]
    from nlpfactory.serving.onnx_predictor import open_predictor

    onnx = open_predictor(export_dir, precision="fp32").predict_entities([text])[0]
    assert onnx == eager and eager["entities"] == entities(text, eager["tags"])
    assert len(eager["tags"]) == len(text)

    from fastapi.testclient import TestClient

    from nlpfactory.serving.server import ServeConfig, create_app

    client = TestClient(create_app(open_predictor(export_dir, precision="fp32"), ServeConfig()))
    served = client.post("/v1/predict", json={"texts": [text]}).json()["predictions"][0]
    assert served["entities"] == entities(text, served["tags"]) == onnx["entities"]
    assert json.dumps(served, ensure_ascii=False)

    from nlpfactory.serving.predict_file import PredictConfig, predict_file

    (tmp_path / "in.tsv").write_text(f"text\n{text}\n", encoding="utf-8")
    written = predict_file(PredictConfig(precision="fp32"), export_dir, tmp_path / "in.tsv", tmp_path / "out.jsonl")
    row = json.loads((tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert row["tags"].split() == onnx["tags"] and json.loads(row["entities"]) == onnx["entities"]
    assert sum(written.label_counts.values()) == len(onnx["entities"])
