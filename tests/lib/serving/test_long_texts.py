"""A 1,000-character text through every prediction path: each truncates to the model's limit
instead of overflowing its 512 position embeddings. (The server and the registered pyfunc
have theirs in test_serving_kserve_protocols.py and test_pyfunc_fresh_venv.py.)"""

import json

import pandas as pd
import pytest

from nlpfactory.predictor import load_predictor
from nlpfactory.serving.predict_file import PredictConfig, predict_file

LONG_TEXT = ("这家酒店的服务很周到，房间干净，早餐丰富。" * 60)[:1000]


@pytest.fixture(scope="module")
def expected(built):
    return load_predictor(built[1]).predict([LONG_TEXT])[0]


def test_the_text_is_longer_than_the_model_can_read(built):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(built[0])
    assert len(tokenizer(LONG_TEXT)["input_ids"]) > 512 == tokenizer.model_max_length


@pytest.mark.parametrize("folder", [0, 1], ids=["pytorch_model_folder", "onnx_export"])
def test_predictors_truncate(built, folder):
    probs = load_predictor(built[folder]).predict_proba([LONG_TEXT, "好"])
    assert probs.shape == (2, 2)


def test_transformers_pipeline_on_a_model_folder_truncates(built, expected):
    from transformers import pipeline

    classify = pipeline("text-classification", model=str(built[0]), tokenizer=str(built[0]), device="cpu")
    [result] = classify([LONG_TEXT], truncation=True)
    assert result["label"] == expected  # what the exported model predicts for the same text


def test_predict_file_truncates(built, tmp_path, expected):
    source = tmp_path / "long.jsonl"
    source.write_text(json.dumps({"text": LONG_TEXT}, ensure_ascii=False) + "\n", encoding="utf-8")
    predict_file(PredictConfig(), built[1], source, tmp_path / "out.jsonl")
    assert pd.read_json(tmp_path / "out.jsonl", lines=True)["prediction"].tolist() == [expected]
