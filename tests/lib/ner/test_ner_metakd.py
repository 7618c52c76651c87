"""Per-domain MetaKD for taggers: a meta-teacher over two domains of tagged sentences, then a
student for one domain through the distill stage (method=metakd), and the token-level weights
the two stages use."""

import math

import pandas as pd
import pytest
import torch
from helpers import sparse_ner_dataset

from nlpfactory.distill.config import DistillConfig, MetaTeacherConfig
from nlpfactory.distill.meta_teacher import SCORES_FILE, load_meta_teacher, train_meta_teacher
from nlpfactory.distill.metakd import domain_expertise_weight, sentence_mean, stage2_loss, teacher_view
from nlpfactory.distill.run import distill
from nlpfactory.errors import InputError
from nlpfactory.models.card import read_card

TRAIN = dict(batch_size=32, max_length=64, checkpoint_every_steps=0, early_stopping_patience=0)


@pytest.fixture(scope="module")
def two_domains(tmp_path_factory):
    return sparse_ner_dataset(tmp_path_factory.mktemp("ner-domains") / "ds", 400, domains=("news", "forum"))


@pytest.fixture(scope="module")
def meta_teacher(two_domains, tmp_path_factory):
    cfg = MetaTeacherConfig(model="tiny", vocab_size=900, learning_rate=2e-3, epochs=4, **TRAIN)
    return train_meta_teacher(cfg, two_domains, tmp_path_factory.mktemp("meta") / "teacher")


def test_the_tagging_meta_teacher_learns_both_domains_and_scores_every_word(meta_teacher, two_domains):
    card = read_card(meta_teacher.model_dir)
    assert card["kind"] == "metakd_teacher" and card["task"] == "sequence_labeling"
    assert card["domains"] == ["news", "forum"] and set(meta_teacher.mean_prototype_score) == {"news", "forum"}
    assert meta_teacher.dev_metrics["entity_f1"] >= 0.9, meta_teacher.fit.history
    scores = pd.read_parquet(meta_teacher.model_dir / SCORES_FILE)
    train = pd.read_parquet(two_domains / "train.parquet")
    assert len(scores) == len(train)
    for text, values in zip(scores["text"], scores["prototype_score"]):
        assert len(values) == len(text)  # one per character: every character is a word here
        assert all(-1 <= v <= 1 for v in values)
    teacher, _, _ = load_meta_teacher(meta_teacher.model_dir)
    assert teacher.classifier.config.num_labels == 5 and teacher.branch.domain_embedding.num_embeddings == 2
    from nlpfactory.predictor import load_predictor

    test = pd.read_parquet(two_domains / "test.parquet")
    predicted = load_predictor(meta_teacher.model_dir).predict_tags(test["text"].tolist()[:5])
    assert [len(t) for t in predicted] == [len(t) for t in test["text"][:5]]


def test_a_metakd_student_for_one_domain_finds_its_entities(meta_teacher, two_domains, tmp_path):
    cfg = DistillConfig(method="metakd", domain="forum", student="tiny", stage1_epochs=2, stage2_epochs=4,
                        stage1_learning_rate=2e-3, stage2_learning_rate=2e-3, hard_label_weight=0.5, **TRAIN)
    result = distill(cfg, two_domains, str(meta_teacher.model_dir), tmp_path / "forum")
    assert set(result.training) == {"stage1", "stage2"}
    assert result.dev_metrics["entity_f1"] >= 0.9, result.training["stage2"].history
    card = read_card(tmp_path / "forum")
    assert card["kind"] == "tagger" and card["domains"] == ["forum"]
    assert card["distillation"]["method"] == "token-level metakd"
    assert result.parameters < result.teacher_parameters or result.parameters == result.teacher_parameters

    from nlpfactory.serving.export import ExportConfig, export

    # The forum student serves forum text, so its int8 check scores the forum dev sentences only.
    exported = export(ExportConfig(), tmp_path / "forum", tmp_path / "export", two_domains)
    dev = pd.read_parquet(two_domains / "dev.parquet")
    assert 0 < exported.metrics["int8_check_sentences"] == (dev["domain"] == "forum").sum() < len(dev)


def test_a_student_needs_the_meta_teachers_sentences(meta_teacher, tmp_path):
    other = sparse_ner_dataset(tmp_path / "other", 100, seed=7, domains=("news", "forum"))
    cfg = DistillConfig(method="metakd", student="tiny", stage1_epochs=1, stage2_epochs=1, **TRAIN)
    with pytest.raises(InputError, match="no prototype score"):
        distill(cfg, other, str(meta_teacher.model_dir), tmp_path / "student")
    assert not (tmp_path / "student").exists()


class _Fixed(torch.nn.Module):
    """A stand-in meta-teacher answering fixed tag logits."""

    def __init__(self, logits):
        super().__init__()
        self.logits = logits

    def forward(self, batch):
        return type("Inside", (), {"logits": self.logits})(), torch.zeros(len(self.logits), 4), None


def test_token_weights_follow_the_domain_expertise_formula_and_skip_untagged_tokens():
    logits = torch.tensor([[[0.0, 0.0], [3.0, 0.0], [0.0, 2.0], [0.0, 0.0]]])
    batch = {"tag_ids": torch.tensor([[-100, 0, 0, -100]]), "token_prototype_scores": torch.tensor([[0.0, 0.8, 0.2, 0.0]])}
    _, _, weights = teacher_view(_Fixed(logits), batch)
    p1, p2 = 1 / (1 + math.exp(-3)), 1 / (1 + math.exp(2))
    expected = [0.0, (1.8) / (math.exp((1 - p1) ** 2) + 1), (1.2) / (math.exp((1 - p2) ** 2) + 1), 0.0]
    assert weights[0].tolist() == pytest.approx(expected, rel=1e-5)
    assert sentence_mean(weights, batch["tag_ids"] != -100).item() == pytest.approx((expected[1] + expected[2]) / 2)
    assert domain_expertise_weight(torch.tensor(0.9), torch.tensor(1.0)).item() == pytest.approx(0.95)


def test_stage_two_is_the_mean_soft_loss_over_tagged_tokens_only():
    teacher_logits = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [5.0, -5.0]]])
    student_logits = torch.tensor([[[0.0, 0.0], [0.0, 0.0], [-5.0, 5.0]]])
    batch = {"tag_ids": torch.tensor([[0, 1, -100]]), "token_prototype_scores": torch.zeros(1, 3),
             "input_ids": torch.zeros(1, 3, dtype=torch.long), "attention_mask": torch.ones(1, 3, dtype=torch.long)}

    def student(**_):
        return type("Out", (), {"logits": student_logits})()

    loss = stage2_loss(student, _Fixed(teacher_logits), batch, temperature=1.0)
    p = torch.softmax(torch.tensor([1.0, 0.0]), -1)
    one = (p * (p.log() - math.log(0.5))).sum().item()  # KL of each tagged token to the uniform student
    assert loss.item() == pytest.approx(one)  # the untagged third token, far off, counts nothing
