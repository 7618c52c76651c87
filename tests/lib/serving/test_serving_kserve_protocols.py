"""KServe's V1 and Open Inference (V2) protocols against a real `nlpfactory serve`, and its bounds."""

import subprocess
import sys
import threading
import time

import httpx
import pytest
from conftest import LABELS
from server_helpers import MAX_BATCH, free_port, start_server

from nlpfactory.predictor import load_predictor

NAME = "sentiment"


@pytest.fixture(scope="module")
def server(built, tmp_path_factory):
    _, export_dir, _ = built
    process, url = start_server(export_dir, free_port(), tmp_path_factory.mktemp("kserve") / "server.log",
                                "--model-name", NAME)
    yield url
    process.kill()
    process.wait()


@pytest.fixture(scope="module")
def expected(built):
    return load_predictor(built[1])


def v2_text(texts, name="text"):
    return {"name": name, "datatype": "BYTES", "shape": [len(texts)], "data": texts}


def test_v2_health_server_and_model_metadata(server):
    assert httpx.get(f"{server}/v2/health/live").json() == {"live": True}
    assert httpx.get(f"{server}/v2/health/ready").json() == {"ready": True}
    assert httpx.get(f"{server}/v2").json()["name"] == "nlpfactory"
    assert httpx.get(f"{server}/v2/models/{NAME}/ready").json() == {"name": NAME, "ready": True}
    meta = httpx.get(f"{server}/v2/models/{NAME}").json()
    assert meta["name"] == NAME and meta["platform"] == "onnxruntime_onnx"
    assert meta["inputs"] == [{"name": "text", "datatype": "BYTES", "shape": [-1]}]
    assert {o["name"]: o["shape"] for o in meta["outputs"]} == {"label": [-1], "probabilities": [-1, 2]}
    assert meta["parameters"]["labels"] == LABELS


def test_v2_infer_answers_label_names_and_probabilities(server, expected, texts):
    batch = texts[:3]
    response = httpx.post(f"{server}/v2/models/{NAME}/infer", json={"id": "r1", "inputs": [v2_text(batch)]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model_name"] == NAME and body["id"] == "r1"
    outputs = {o["name"]: o for o in body["outputs"]}
    assert outputs["label"] == {"name": "label", "datatype": "BYTES", "shape": [3], "data": expected.predict(batch)}
    probs = outputs["probabilities"]
    assert probs["datatype"] == "FP32" and probs["shape"] == [3, 2]
    assert probs["data"] == pytest.approx(expected.predict_proba(batch).ravel().tolist(), abs=1e-5)


def test_v2_versioned_paths_answer_for_version_1_only(server, expected, texts):
    assert httpx.get(f"{server}/v2/models/{NAME}/versions/1/ready").json() == {"name": NAME, "ready": True}
    assert httpx.get(f"{server}/v2/models/{NAME}/versions/1").json()["name"] == NAME
    body = httpx.post(f"{server}/v2/models/{NAME}/versions/1/infer", json={"inputs": [v2_text(texts[:2])]}).json()
    assert body["outputs"][0]["data"] == expected.predict(texts[:2])
    response = httpx.post(f"{server}/v2/models/{NAME}/versions/2/infer", json={"inputs": [v2_text(texts[:2])]})
    assert response.status_code == 404 and "version 1" in response.json()["error"]


def test_v2_nested_data_and_requested_outputs(server, expected, texts):
    tensor = {"name": "text", "datatype": "BYTES", "shape": [2, 1], "data": [[texts[0]], [texts[1]]]}
    body = httpx.post(f"{server}/v2/models/{NAME}/infer",
                      json={"inputs": [tensor], "outputs": [{"name": "label"}]}).json()
    assert [o["name"] for o in body["outputs"]] == ["label"]
    assert body["outputs"][0]["data"] == expected.predict(texts[:2])


@pytest.mark.parametrize("inputs, status, says", [
    ([{"name": "text", "datatype": "FP32", "shape": [1], "data": [1.0]}], 400, "text inputs are BYTES"),
    ([{"name": "text", "datatype": "BYTES", "shape": [2], "data": ["好"]}], 400, "shape [2] but 1 data"),
    ([{"name": "words", "datatype": "BYTES", "shape": [1], "data": ["好"]}], 400, "unknown input 'words'"),
    ([], 400, 'missing input "text"'),
    ([v2_text(["好"] * (MAX_BATCH + 1))], 413, f"at most {MAX_BATCH}"),
    ([v2_text(["好", 3])], 422, "is int, not a string"),
])
def test_v2_bad_tensors_get_a_clear_error(server, inputs, status, says):
    response = httpx.post(f"{server}/v2/models/{NAME}/infer", json={"inputs": inputs})
    assert response.status_code == status and says in response.json()["error"]


def test_v1_predict_takes_strings_or_objects(server, expected, texts):
    assert httpx.get(f"{server}/v1/models/{NAME}").json() == {"name": NAME, "ready": True}
    assert httpx.get(f"{server}/v1/models").json() == {"models": [NAME]}
    for instances in (texts[:2], [{"text": t} for t in texts[:2]]):
        response = httpx.post(f"{server}/v1/models/{NAME}:predict", json={"instances": instances})
        assert response.status_code == 200, response.text
        predictions = response.json()["predictions"]
        assert [p["label"] for p in predictions] == expected.predict(texts[:2])
        assert set(predictions[0]["probabilities"]) == set(LABELS)


def test_unknown_model_or_verb_is_404(server):
    assert httpx.get(f"{server}/v2/models/other").status_code == 404
    response = httpx.post(f"{server}/v1/models/other:predict", json={"instances": ["好"]})
    assert response.status_code == 404 and NAME in response.json()["error"]
    assert httpx.post(f"{server}/v1/models/{NAME}:explain", json={"instances": ["好"]}).status_code == 404


def test_a_thousand_character_text_is_truncated_not_refused(server, expected):
    long_text = ("这家酒店的服务很周到，房间干净。" * 70)[:1000]
    body = httpx.post(f"{server}/v2/models/{NAME}/infer", json={"inputs": [v2_text([long_text])]}).json()
    assert body["outputs"][0]["data"] == expected.predict([long_text])


def test_requests_beyond_workers_and_queue_get_503_then_are_served(built, tmp_path):
    """One worker, no queue: while a slow upload holds the only slot, the next request is
    refused at once with Retry-After; once it is done, requests are served again."""
    process, url = start_server(built[1], free_port(), tmp_path / "server.log", "--workers", "1", "--queue", "0")
    try:
        def slow_body():
            yield b'{"texts": ["'
            time.sleep(3)
            yield '好"]}'.encode()

        first = {}
        holder = threading.Thread(target=lambda: first.update(
            r=httpx.post(f"{url}/v1/predict", content=slow_body(), timeout=30)))
        holder.start()
        time.sleep(1)
        busy = httpx.post(f"{url}/v1/predict", json={"texts": ["好"]})
        holder.join()
        assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
        assert "busy" in busy.json()["error"]
        assert first["r"].status_code == 200
        assert httpx.post(f"{url}/v1/predict", json={"texts": ["好"]}).status_code == 200
    finally:
        process.kill()
        process.wait()


def test_a_port_out_of_range_is_a_clear_error(built):
    code = "import sys; from nlpfactory.cli import main; sys.exit(main(sys.argv[1:]))"
    result = subprocess.run([sys.executable, "-c", code, "serve", str(built[1]), "--port", "99999"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "port 99999 is not a TCP port" in result.stderr and "Traceback" not in result.stderr
