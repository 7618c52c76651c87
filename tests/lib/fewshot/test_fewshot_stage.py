"""Train each method on a tiny K-shot set, then predict through load_predictor."""

import json
import random

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForMaskedLM

from nlpfactory.data.dataset import DatasetInfo, write_dataset
from nlpfactory.errors import InputError
from nlpfactory.fewshot.config import FewshotConfig
from nlpfactory.fewshot.sampler import sample_k_shot
from nlpfactory.fewshot.train import fewshot
from nlpfactory.predictor import load_predictor

GOOD = ["好", "棒", "喜欢", "满意", "不错"]
BAD = ["差", "糟", "讨厌", "失望", "难用"]


def reviews(n, seed):
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = "positive" if i % 2 == 0 else "negative"
        word = rng.choice(GOOD if label == "positive" else BAD)
        rows.append({"text": f"这个{rng.choice(['酒店', '电脑', '书'])}{word}{word}", "label": label})
    return pd.DataFrame(rows)


@pytest.fixture
def dataset(tmp_path):
    info = DatasetInfo(task="classification", labels=["negative", "positive"])
    return write_dataset(tmp_path / "data", {"train": reviews(40, 0), "dev": reviews(12, 1), "test": reviews(20, 2)}, info)


def tiny(method, **kwargs):
    return FewshotConfig(model="tiny", method=method, shots_per_class=6, dev_shots_per_class=4, epochs=3,
                         batch_size=4, learning_rate=1e-3, max_length=32, vocab_size=200,
                         verbalizer={"positive": "好", "negative": "很差"}, **kwargs)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["pet", "ptuning", "cptuning"])
def test_each_method_writes_a_model_that_predicts_like_a_classifier(method, dataset, tmp_path):
    result = fewshot(tiny(method), dataset, tmp_path / "model")
    assert result.train_rows == 12
    card = json.loads((tmp_path / "model" / "nlpfactory.json").read_text())
    assert card["kind"] == method and card["labels"] == ["negative", "positive"]
    AutoModelForMaskedLM.from_pretrained(tmp_path / "model")  # a plain transformers folder
    predictor = load_predictor(tmp_path / "model", device="cpu")
    texts = reviews(6, 3)["text"].tolist()
    probs = predictor.predict_proba(texts)
    assert probs.shape == (6, 2) and np.allclose(probs.sum(1), 1, atol=1e-5)
    # The saved folder scores the K-shot dev rows exactly as the trained model did in memory.
    from nlpfactory.data.dataset import load_split
    from nlpfactory.fewshot.sampler import sample_k_shot

    cfg = tiny(method)
    dev = sample_k_shot(load_split(dataset, "dev"), cfg.dev_shots_per_class, cfg.seed, ["negative", "positive"],
                        strict=False, split="dev")
    predicted = predictor.predict(dev["text"].tolist())
    assert np.mean(np.asarray(predicted) == dev["label"].to_numpy()) == pytest.approx(result.dev_metrics["accuracy"])


@pytest.mark.slow
def test_pet_card_carries_the_verbalizer_and_mask_count(dataset, tmp_path):
    fewshot(tiny("pet"), dataset, tmp_path / "model")
    card = json.loads((tmp_path / "model" / "nlpfactory.json").read_text())
    assert card["verbalizer"] == {"negative": "很差", "positive": "好"}
    assert card["prompt"] == {"pattern": "{text}。总之很{mask}。", "mask_count": 2, "prompt_length": 0, "file": None}


@pytest.mark.slow
def test_ptuning_saves_its_pseudo_tokens(dataset, tmp_path):
    fewshot(tiny("ptuning", prompt_length=3, prompt_encoder="mlp"), dataset, tmp_path / "model")
    card = json.loads((tmp_path / "model" / "nlpfactory.json").read_text())
    assert card["prompt"]["pattern"] == "{prompt}{text}。总之很{prompt}{mask}。"
    assert load_file(str(tmp_path / "model" / card["prompt"]["file"]))["prompt"].shape == (3, 128)


@pytest.mark.slow
def test_cptuning_saves_anchors_and_predicts_by_them(dataset, tmp_path):
    fewshot(tiny("cptuning", predict="1nn"), dataset, tmp_path / "model")
    card = json.loads((tmp_path / "model" / "nlpfactory.json").read_text())
    assert card["prototypes"]["predict"] == "1nn" and card["prototypes"]["anchors"] == 12
    saved = load_file(str(tmp_path / "model" / card["prototypes"]["file"]))
    assert saved["anchors"].shape == (12, 128) and saved["class_means"].shape == (2, 128)
    assert torch.allclose(saved["anchors"].norm(dim=1), torch.ones(12), atol=1e-4)
    # a training row is its own nearest anchor, so 1-NN gets every training row right
    shots = sample_k_shot(pd.read_parquet(dataset / "train.parquet"), 6, 42, ["negative", "positive"])
    predictor = load_predictor(tmp_path / "model", device="cpu")
    assert predictor.predict(shots["text"].tolist()) == shots["label"].tolist()


@pytest.mark.slow
def test_pairs_go_through_the_pattern_text_b_slot(tmp_path):
    frame = reviews(24, 4).assign(text_b=lambda f: f["text"].str[:3])
    info = DatasetInfo(task="pair_classification", labels=["negative", "positive"], text_columns=["text", "text_b"])
    data = write_dataset(tmp_path / "pairs", {"train": frame}, info)
    cfg = FewshotConfig(model="tiny", method="ptuning", pattern="{text}？{mask}，{text_b}", shots_per_class=4,
                        epochs=1, max_length=32, vocab_size=200)
    fewshot(cfg, data, tmp_path / "model")
    predictor = load_predictor(tmp_path / "model", device="cpu")
    assert predictor.predict_proba(frame["text"][:3].tolist(), frame["text_b"][:3].tolist()).shape == (3, 2)
    with pytest.raises(InputError, match="no second texts"):
        predictor.predict_proba(frame["text"][:3].tolist())
