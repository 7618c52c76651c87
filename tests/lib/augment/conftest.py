import pandas as pd
import pytest

from nlpfactory.data.dataset import DatasetInfo, write_dataset

TRAIN = [
    ("这家酒店很好，服务非常周到", "pos"),
    ("房间太差了，不推荐", "neg"),
    ("笔记本电脑屏幕清晰，运行很快", "pos"),
    ("这本书写得很有意思", "pos"),
    ("早餐难吃，前台态度冷淡", "neg"),
    ("电池不耐用，键盘也松", "neg"),
]


@pytest.fixture
def train_texts():
    return [t for t, _ in TRAIN]


@pytest.fixture
def dataset_dir(tmp_path):
    train = pd.DataFrame(TRAIN, columns=["text", "label"])
    dev = pd.DataFrame([("服务很好", "pos"), ("太差了", "neg")], columns=["text", "label"])
    test = pd.DataFrame([("环境不错", "pos"), ("很失望", "neg")], columns=["text", "label"])
    info = DatasetInfo(task="classification", labels=["neg", "pos"], domains=[],
                       source={"files": ["reviews.tsv"]})
    return write_dataset(tmp_path / "data", {"train": train, "dev": dev, "test": test}, info)
