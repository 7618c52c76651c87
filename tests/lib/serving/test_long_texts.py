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


# Two long texts that differ only at the end: a model cut at max_length (64 here) by its head
# alone reads them as one text; a head+tail model reads their ends.
SAME_START = "酒店房间前台" * 20
ENDINGS = [SAME_START + "很好，满意，推荐，喜欢", SAME_START + "很差，失望，后悔，糟糕"]


def _with_truncation(tmp_path, folder, rule):
    """A copy of a model (or export) folder whose card says how it cuts long texts."""
    import shutil

    from nlpfactory.models.card import CARD_FILE, read_card

    copy = tmp_path / f"{folder.name}-{rule.replace('+', '-')}"
    shutil.copytree(folder, copy)
    card = read_card(copy) | {"truncation": rule}
    (copy / CARD_FILE).write_text(json.dumps(card, ensure_ascii=False), encoding="utf-8")
    return copy


@pytest.mark.parametrize("folder", [0, 1], ids=["pytorch_model_folder", "onnx_export"])
def test_a_card_without_a_rule_keeps_the_head_as_its_model_was_trained(built, folder):
    logits = load_predictor(built[folder]).logits(ENDINGS)
    assert logits[0].tolist() == logits[1].tolist()


def test_head_and_tail_reads_the_end_and_both_predictors_cut_alike(built, tmp_path):
    model = load_predictor(_with_truncation(tmp_path, built[0], "head+tail"))
    export = load_predictor(_with_truncation(tmp_path, built[1], "head+tail"))
    assert model.predict(ENDINGS) == export.predict(ENDINGS) == ["positive", "negative"]
    # int8 export against the fp32 model: the same inputs give logits close, not equal
    assert export.logits(ENDINGS) == pytest.approx(model.logits(ENDINGS), abs=0.15)
    assert export.encode(ENDINGS)["input_ids"].shape[1] == model.max_length == 64
