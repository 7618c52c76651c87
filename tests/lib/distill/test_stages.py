"""The distillation stages end to end on a tiny two-domain Dataset (seconds, tiny presets)."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from nlpfactory.data.dataset import load_split, read_info
from nlpfactory.distill.config import DistillConfig, MetaTeacherConfig, SoftLabelConfig
from nlpfactory.distill.meta_teacher import (
    BRANCH_FILE,
    SCORES_FILE,
    load_meta_teacher,
    train_meta_teacher,
)
from nlpfactory.distill.run import distill, freeze
from nlpfactory.distill.soft_labels import write_soft_labels
from nlpfactory.distill.student import build_student
from nlpfactory.distill.vanilla import VanillaStudent, vanilla_loss
from nlpfactory.errors import InputError
from nlpfactory.finetune import FinetuneConfig, finetune, labelled_rows
from nlpfactory.models.card import read_card
from nlpfactory.predictor import load_predictor
from nlpfactory.train.config import TrainConfig
from nlpfactory.train.loop import fit

QUICK = dict(epochs=1, batch_size=16, max_length=32, checkpoint_every_steps=0)


@pytest.fixture(scope="module")
def teacher(shared_reviews, tmp_path_factory):
    """One fine-tuned teacher for the module (training is most of each test's time); it is
    only read, and its data is the same as every test's `reviews`."""
    return finetune(FinetuneConfig(model="tiny", learning_rate=1e-3, vocab_size=200, **QUICK),
                    shared_reviews, tmp_path_factory.mktemp("teacher") / "model").model_dir


def test_teacher_is_frozen_during_distillation(reviews, teacher):
    model, tokenizer = AutoModelForSequenceClassification.from_pretrained(teacher), AutoTokenizer.from_pretrained(teacher)
    freeze(model)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    student = build_student("tiny", "random", model, ["neg", "pos"])
    frame = load_split(reviews, "train")
    rows = labelled_rows(tokenizer, frame, read_info(reviews), 32)
    fit(VanillaStudent(student), rows, lambda m, b: vanilla_loss(m, model, b), TrainConfig(**QUICK),
        checkpoint_dir=reviews.parent / "ckpt")
    assert not model.training
    assert all(not p.requires_grad and p.grad is None for p in model.parameters())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_vanilla_distill_writes_a_plain_classifier_folder(reviews, teacher, isolated):
    cfg = DistillConfig(method="vanilla", student="tiny", learning_rate=1e-3, **QUICK)
    result = distill(cfg, reviews, str(teacher), isolated / "student")
    model = AutoModelForSequenceClassification.from_pretrained(result.model_dir)
    AutoTokenizer.from_pretrained(result.model_dir)
    card = read_card(result.model_dir)
    assert card["kind"] == "classifier" and card["labels"] == ["neg", "pos"]
    assert model.config.vocab_size == AutoModelForSequenceClassification.from_pretrained(teacher).config.vocab_size
    assert not any("projection" in k for k in load_file(str(result.model_dir / "model.safetensors")))
    # The saved student scores the dev split exactly as the in-memory one did at its best epoch.
    from nlpfactory.data.dataset import load_split

    dev = load_split(reviews, "dev")
    predicted = np.asarray(load_predictor(result.model_dir).predict(dev["text"].tolist()))
    assert np.mean(predicted == dev["label"].to_numpy()) == pytest.approx(result.dev_metrics["accuracy"])


def test_vanilla_with_intermediate_matching_across_widths(reviews, isolated):
    wide = finetune(FinetuneConfig(model="small", vocab_size=200, **QUICK), reviews, isolated / "wide").model_dir
    cfg = DistillConfig(method="vanilla", student="tiny", intermediate=True, **QUICK)
    result = distill(cfg, reviews, str(wide), isolated / "student")
    assert result.training["vanilla"].steps == 3
    assert result.parameters < result.teacher_parameters


def test_stored_logits_replace_the_teacher(reviews, teacher, isolated):
    labelled = isolated / "labelled"
    assert write_soft_labels(SoftLabelConfig(splits=["train"]), reviews, teacher, labelled) == {"train": 48}
    frame = load_split(labelled, "train")
    expected = load_predictor(teacher).logits(frame["text"].tolist())
    assert np.allclose(np.stack(frame["logits"].tolist()), expected, atol=1e-5)
    assert "logits" not in load_split(labelled, "dev")

    class Refuses(torch.nn.Module):
        def forward(self, **_):
            raise AssertionError("the teacher ran although the rows carry its logits")

    student = build_student("tiny", "random", AutoModelForSequenceClassification.from_pretrained(teacher), ["neg", "pos"]).eval()
    batch = {"input_ids": torch.tensor([[2, 7, 3]]), "attention_mask": torch.ones(1, 3, dtype=torch.long),
             "labels": torch.tensor([1]), "teacher_logits": torch.tensor([[0.0, 3.0]])}
    loss = vanilla_loss(VanillaStudent(student), Refuses(), batch, temperature=1.0, alpha=1.0)
    logits = student(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    p = torch.softmax(torch.tensor([0.0, 3.0]), -1)
    assert loss.item() == pytest.approx((p * (p.log() - logits.log_softmax(-1)[0])).sum().item(), rel=1e-5)
    distill(DistillConfig(student="tiny", **QUICK), labelled, str(teacher), isolated / "from-logits")


def test_student_from_teacher_layers_copies_them(teacher):
    model = AutoModelForSequenceClassification.from_pretrained(teacher)
    student = build_student("tiny", "teacher_layers:2", model, ["neg", "pos"])
    assert student.config.num_hidden_layers == 1
    assert torch.equal(student.bert.encoder.layer[0].output.dense.weight, model.bert.encoder.layer[1].output.dense.weight)
    assert torch.equal(student.bert.embeddings.word_embeddings.weight, model.bert.embeddings.word_embeddings.weight)


def test_meta_teacher_then_metakd_student_for_one_domain(reviews, isolated):
    cfg = MetaTeacherConfig(model="tiny", vocab_size=200, learning_rate=1e-3, **QUICK)
    meta = train_meta_teacher(cfg, reviews, isolated / "meta")
    folder = meta.model_dir
    card = read_card(folder)
    assert card["kind"] == "metakd_teacher" and card["domains"] == ["book", "hotel"]
    assert card["domain_branch"]["file"] == BRANCH_FILE and (folder / BRANCH_FILE).is_file()
    AutoModelForSequenceClassification.from_pretrained(folder)
    assert len(pd.read_parquet(folder / SCORES_FILE)) == 48
    assert set(meta.mean_prototype_score) == {"book", "hotel"}
    loaded, _, _ = load_meta_teacher(folder)
    assert loaded.branch.domain_embedding.num_embeddings == 2

    dcfg = DistillConfig(method="metakd", domain="hotel", student="tiny", stage1_epochs=1, stage2_epochs=1,
                         stage1_learning_rate=1e-3, stage2_learning_rate=1e-3, **QUICK)
    result = distill(dcfg, reviews, str(folder), isolated / "hotel-student")
    assert set(result.training) == {"stage1", "stage2"}
    assert result.training["stage1"].train_samples == 24  # the hotel rows only
    student_card = read_card(result.model_dir)
    assert student_card["kind"] == "classifier" and student_card["domains"] == ["hotel"]
    weights = load_file(str(result.model_dir / "model.safetensors"))
    assert not any("branch" in k or "projection" in k for k in weights)
    AutoModelForSequenceClassification.from_pretrained(result.model_dir)
    assert json.loads((result.model_dir / "nlpfactory.json").read_text())["distillation"]["method"] == "metakd"


def test_metakd_refuses_a_plain_teacher(reviews, teacher, isolated):
    with pytest.raises(InputError, match="meta_teacher stage"):
        distill(DistillConfig(method="metakd", **QUICK), reviews, str(teacher), isolated / "x")
    assert not (isolated / "x").exists()


def test_a_domain_the_data_lacks_is_refused(reviews, teacher, isolated):
    with pytest.raises(InputError, match="laptop"):
        distill(DistillConfig(domain="laptop", **QUICK), reviews, str(teacher), isolated / "x")


def test_meta_teacher_stays_frozen_through_both_stages(reviews, isolated):
    from nlpfactory.distill.meta_teacher import lookup_prototype_scores
    from nlpfactory.distill.metakd import meta_distill
    from nlpfactory.distill.rows import attach, domain_ids

    cfg = MetaTeacherConfig(model="tiny", vocab_size=200, **QUICK)
    teacher, tokenizer, card = load_meta_teacher(train_meta_teacher(cfg, reviews, isolated / "meta").model_dir)
    freeze(teacher)
    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    frame, info = load_split(reviews, "train"), read_info(reviews)
    rows = labelled_rows(tokenizer, frame, info, 32)
    attach(rows, "domain_ids", domain_ids(frame, card["domains"], "train"))
    attach(rows, "prototype_scores", lookup_prototype_scores(isolated / "meta", frame, False, "train"))
    student = build_student("tiny", "random", teacher.classifier, info.labels)
    dcfg = DistillConfig(method="metakd", stage1_epochs=1, stage2_epochs=1, **QUICK)
    done = meta_distill(dcfg, teacher, student, rows, checkpoint_dirs=(isolated / "c1", isolated / "c2"))
    assert set(done) == {"stage1", "stage2"}
    assert not teacher.training and all(p.grad is None and not p.requires_grad for p in teacher.parameters())
    assert all(torch.equal(before[k], v) for k, v in teacher.state_dict().items())
