"""A tagger's export answers tags and entity spans the same way everywhere: the ONNX predictor
(no transformers), V2 infer, the MLflow pyfunc; and compare reports taggers by entity F1."""

import json

import pytest
from helpers import sparse_ner_dataset

from nlpfactory.ner.predict import entities
from nlpfactory.predictor import load_predictor

TEXTS = ["一丁七万丈张伟三上下不与丐丑专且丕世。", "丗丘丙业丛东丝丞丟丠两严丢杭州並丧丨丩个丫丬中丮"]


@pytest.fixture(scope="module")
def tagger(tmp_path_factory):
    """(model_dir, export_dir, dataset_dir): a tiny tagger trained for seconds, and its export."""
    from nlpfactory.finetune import FinetuneConfig, finetune
    from nlpfactory.serving.export import ExportConfig, export

    root = tmp_path_factory.mktemp("tagger")
    data = sparse_ner_dataset(root / "ds", 240)
    finetune(FinetuneConfig(model="tiny", vocab_size=600, epochs=4, batch_size=32, learning_rate=2e-3, max_length=24,
                            checkpoint_every_steps=0, early_stopping_patience=0), data, root / "model")
    export(ExportConfig(), root / "model", root / "export", data)
    return root / "model", root / "export", data


@pytest.fixture(scope="module")
def expected(tagger):
    """What the PyTorch model answers (long texts go through windows: max_length is 24)."""
    answers = load_predictor(tagger[0], device="cpu").predict_entities(TEXTS)
    assert any(a["entities"] for a in answers), "the tagger found nothing to compare"
    return answers


def test_the_onnx_tagger_reads_the_export_tokenizer_like_transformers_does(tagger, expected):
    from nlpfactory.serving.onnx_predictor import open_predictor

    onnx = open_predictor(tagger[1], precision="fp32").predict_entities(TEXTS)
    assert onnx == expected
    assert all(a["entities"] == entities(t, a["tags"]) for t, a in zip(TEXTS, onnx, strict=True))


def test_v2_infer_answers_a_taggers_tags_and_spans(tagger):
    from fastapi.testclient import TestClient

    from nlpfactory.serving.onnx_predictor import open_predictor
    from nlpfactory.serving.server import ServeConfig, create_app

    predictor = open_predictor(tagger[1], precision="fp32")
    client = TestClient(create_app(predictor, ServeConfig(), name="ner"))
    meta = client.get("/v2/models/ner").json()
    assert [o["name"] for o in meta["outputs"]] == ["tags", "entities"]
    request = {"id": "r1", "inputs": [{"name": "text", "datatype": "BYTES", "shape": [2], "data": TEXTS}]}
    body = client.post("/v2/models/ner/infer", json=request).json()
    assert body["id"] == "r1"
    tensors = {t["name"]: t for t in body["outputs"]}
    assert tensors["tags"]["shape"] == tensors["entities"]["shape"] == [2]
    answers = predictor.predict_entities(TEXTS)
    for text, tags, spans, answer in zip(TEXTS, tensors["tags"]["data"], tensors["entities"]["data"], answers,
                                         strict=True):
        assert tags.split() == answer["tags"] and len(tags.split()) == len(text)
        assert json.loads(spans) == answer["entities"] == entities(text, tags.split())
    only = client.post("/v2/models/ner/infer", json=request | {"outputs": [{"name": "entities"}]}).json()
    assert [t["name"] for t in only["outputs"]] == ["entities"]
    wrong = client.post("/v2/models/ner/infer", json=request | {"outputs": [{"name": "label"}]})
    assert wrong.status_code == 400 and "tags and entities" in wrong.json()["error"]


@pytest.mark.usefixtures("mlflow_store")  # registers in MLflow: a store already migrated
def test_the_registered_pyfunc_answers_tags_and_spans_without_torch(tagger, tmp_path):
    import subprocess
    import sys

    from nlpfactory.serving.onnx_predictor import open_predictor
    from nlpfactory.serving.registry import register_export

    registered = register_export(tagger[1], "tiny-ner", tagger=True)
    # A fresh interpreter that refuses torch and transformers: the pyfunc must not need them.
    script = (
        "import sys, json, builtins\n"
        "real = builtins.__import__\n"
        "def guard(name, *a, **k):\n"
        "    if name.split('.')[0] in ('torch', 'transformers'):\n"
        "        raise ImportError('no ' + name + ' here')\n"
        "    return real(name, *a, **k)\n"
        "builtins.__import__ = guard\n"
        "import mlflow\n"
        "out = mlflow.pyfunc.load_model(sys.argv[1]).predict(json.loads(sys.argv[2]))\n"
        "print(json.dumps({'tags': [list(t) for t in out['tags']], 'entities': [list(e) for e in out['entities']]},"
        " ensure_ascii=False))\n")
    done = subprocess.run([sys.executable, "-c", script, registered.uri, json.dumps(TEXTS)], capture_output=True,
                          text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    answers = open_predictor(tagger[1]).predict_entities(TEXTS)  # int8, as registered
    assert out["tags"] == [a["tags"] for a in answers]
    assert out["entities"] == [a["entities"] for a in answers]


def test_compare_reports_a_tagger_students_entity_f1_per_type_and_speed(tagger, tmp_path):
    from nlpfactory import stages
    from nlpfactory.evaluate import EvaluateConfig, score_split

    model_dir, _, data = tagger
    scores = score_split(model_dir, data, EvaluateConfig()).scalars()
    student = {k: v / 2 for k, v in scores.items()}  # a student that keeps half of every score
    result = stages.execute("compare", stages.get("compare").Config(latency_samples=3),
                            {"teacher": str(model_dir), "student": str(model_dir), "dataset": str(data),
                             "teacher_metrics": scores, "student_metrics": student}, {})
    m = result.metrics
    assert m["teacher_entity_f1"] == scores["entity_f1"] > 0
    assert round(m["retained_entity_f1_percent"], 6) == 50.0
    assert m["teacher_f1_PER"] == scores["f1_PER"] and m["student_f1_LOC"] == scores["f1_LOC"] / 2
    assert m["teacher_latency_ms"] > 0 and m["speedup"] > 0
    assert "| model | entity F1 |" in result.report and "| PER |" in result.report
    with pytest.raises(ValueError, match="no 'entity_f1' to compare"):
        stages.execute("compare", stages.get("compare").Config(latency_samples=1),
                       {"teacher": str(model_dir), "student": str(model_dir), "dataset": str(data),
                        "teacher_metrics": {"accuracy": 0.9}, "student_metrics": {"accuracy": 0.8}}, {})
