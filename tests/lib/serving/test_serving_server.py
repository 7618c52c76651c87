"""The HTTP server, over real HTTP on 127.0.0.1: a `nlpfactory serve` subprocess."""

import json
import signal

import httpx
import pytest
from conftest import LABELS
from server_helpers import MAX_BATCH, MAX_BYTES, free_port, start_server

from nlpfactory.predictor import load_predictor


@pytest.fixture(scope="module")
def server(built, tmp_path_factory):
    _, export_dir, _ = built
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    process, url = start_server(export_dir, free_port(), log_path)
    yield url
    if process.poll() is None:
        process.kill()
        process.wait()


def test_health_routes_answer(server):
    assert httpx.get(f"{server}/v2/health/live").json() == {"live": True}
    assert httpx.get(f"{server}/v2/health/ready").json() == {"ready": True}
    meta = httpx.get(f"{server}/v1/model").json()
    assert meta["labels"] == LABELS and meta["max_batch"] == MAX_BATCH


def test_predict_returns_a_label_and_probabilities_per_text(server, built, texts):
    _, export_dir, _ = built
    response = httpx.post(f"{server}/v1/predict", json={"texts": texts[:MAX_BATCH]})
    assert response.status_code == 200
    predictions = response.json()["predictions"]
    assert [p["label"] for p in predictions] == load_predictor(export_dir).predict(texts[:MAX_BATCH])
    for p in predictions:
        assert set(p["probabilities"]) == set(LABELS) and abs(sum(p["probabilities"].values()) - 1) < 1e-4


@pytest.mark.parametrize("body, status, says", [
    ({"text": ["好"]}, 422, 'missing field "texts"'),
    ({"texts": []}, 422, "is empty"),
    ({"texts": ["好"] * (MAX_BATCH + 1)}, 413, f"at most {MAX_BATCH}"),
    ({"texts": ["好", 3]}, 422, '"texts"[1] is int, not a string'),
    ({"texts": ["好", "  "]}, 422, '"texts"[1] is empty'),
    ({"texts": ["\u200b\u200d", "好"]}, 422, '"texts"[0] is empty'),
    ({"texts": ["\x00\x07"]}, 422, '"texts"[0] is empty'),
    ({"texts": "好"}, 422, "must be a list of strings"),
    ({"texts": ["好"], "texts_b": ["a", "b"]}, 422, '"texts_b" has 2 items'),
    (["好"], 422, "must be a JSON object"),
    (b"{not json", 400, "not valid JSON"),
    ({"texts": ["好" * 3000]}, 413, f"at most {MAX_BYTES}"),
    # Reproducers from issue #9: both answered 500 before.
    (b"[" * 5000 + b"]" * 5000, 400, "nests JSON too deeply"),
    (b'{"texts": [' + b"9" * 5000 + b"]}", 400, "not valid JSON"),
])
def test_bad_requests_get_a_clear_4xx(server, body, status, says):
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = httpx.post(f"{server}/v1/predict", content=content,
                          headers={"content-type": "application/json"})
    assert response.status_code == status
    assert says in response.json()["error"]


def test_a_chunked_body_over_the_limit_is_refused(server):
    def parts():
        for _ in range(10):
            yield b" " * (MAX_BYTES // 5)

    response = httpx.post(f"{server}/v1/predict", content=parts())
    assert response.status_code == 413 and "over" in response.json()["error"]


def test_sigterm_shuts_down_gracefully(built, tmp_path):
    _, export_dir, _ = built
    process, url = start_server(export_dir, free_port(), tmp_path / "server.log")
    try:
        assert httpx.post(f"{url}/v1/predict", json={"texts": ["好"]}).status_code == 200
        process.send_signal(signal.SIGTERM)
        # uvicorn finishes its shutdown, then re-raises SIGTERM so the exit status tells why.
        assert process.wait(timeout=30) in (0, -signal.SIGTERM)
    finally:
        if process.poll() is None:
            process.kill()
    log = (tmp_path / "server.log").read_text()
    assert "Shutting down" in log and "Finished server process" in log
