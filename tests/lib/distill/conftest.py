import random

import pandas as pd
import pytest

from nlpfactory.data.dataset import DatasetInfo, write_dataset

WORDS = {
    ("hotel", "pos"): ["房间干净", "服务热情", "早餐丰富"], ("hotel", "neg"): ["房间很脏", "前台冷漠", "隔音太差"],
    ("book", "pos"): ["内容精彩", "印刷清晰", "值得一读"], ("book", "neg"): ["内容空洞", "错字很多", "不值这个价"],
}


def make_reviews(rows_per_domain: int, seed: int = 0) -> pd.DataFrame:
    """Short two-domain sentiment reviews whose label is readable from a few characters."""
    rng = random.Random(seed)
    out = []
    for domain in ("hotel", "book"):
        for i in range(rows_per_domain):
            label = "pos" if i % 2 == 0 else "neg"
            text = "，".join(rng.sample(WORDS[(domain, label)], 2)) + f"，第{i}次"
            out.append({"text": text, "label": label, "domain": domain})
    return pd.DataFrame(out)


@pytest.fixture
def isolated(tmp_path):
    """The test's own folder (tests/conftest.py already keeps MLflow and checkpoints there)."""
    return tmp_path


def write_reviews(folder):
    """A prepared two-domain Dataset folder (train 48, dev 16, test 16)."""
    frame = make_reviews(40)
    splits = {"train": frame.iloc[[i for i in range(80) if i % 5 < 3]],
              "dev": frame.iloc[[i for i in range(80) if i % 5 == 3]],
              "test": frame.iloc[[i for i in range(80) if i % 5 == 4]]}
    info = DatasetInfo(task="classification", labels=["neg", "pos"], domains=["book", "hotel"])
    return write_dataset(folder, splits, info)


@pytest.fixture
def reviews(isolated):
    return write_reviews(isolated / "reviews")


@pytest.fixture(scope="module")
def shared_reviews(tmp_path_factory):
    """The same Dataset, once per module, for module-scoped fixtures that only read it."""
    return write_reviews(tmp_path_factory.mktemp("shared") / "reviews")
