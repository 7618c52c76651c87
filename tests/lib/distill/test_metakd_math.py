import math

import pytest
import torch
from transformers import BertForSequenceClassification

from nlpfactory.distill.features import uniform_map
from nlpfactory.distill.metakd import (
    DomainBranch,
    MetaStudent,
    WithDomainBranch,
    corrupted_domains,
    domain_expertise_weight,
    meta_teacher_loss,
    stage1_loss,
    stage2_loss,
)
from nlpfactory.models.presets import bert_config


def test_domain_expertise_weight_equals_the_formula():
    t = torch.tensor([0.9, 0.9, 0.3, -1.0])
    p = torch.tensor([1.0, 0.0, 0.6, 0.8])
    expected = [(1 + ti) / (math.exp((1 - pi) ** 2) + 1) for ti, pi in zip(t.tolist(), p.tolist())]
    assert domain_expertise_weight(t, p).tolist() == pytest.approx(expected, rel=1e-6)
    assert expected[0] == pytest.approx(0.95) and expected[1] == pytest.approx(0.511, abs=1e-3)


def _model(preset, domains=2, seed=0):
    torch.manual_seed(seed)
    classifier = BertForSequenceClassification(bert_config(preset, vocab_size=60, num_labels=2))
    return WithDomainBranch(classifier, DomainBranch(classifier.config.hidden_size, domains)).eval()


def _batch(seed=0, scores=(0.5, -1.0, 0.8)):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, 60, (3, 6), generator=g)
    mask = torch.ones(3, 6, dtype=torch.long)
    mask[2, 4:] = 0
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids),
            "labels": torch.tensor([0, 1, 1]), "domain_ids": torch.tensor([0, 1, 0]),
            "prototype_scores": torch.tensor(scores)}


def _grads(module):
    return {n: p.grad.clone() for n, p in module.named_parameters() if p.grad is not None}


def _changed_row1(batch):
    other = dict(batch)
    other["input_ids"] = batch["input_ids"].clone()
    other["input_ids"][1] = torch.arange(6) + 10
    other["labels"] = torch.tensor([0, 0, 1])
    return other


def test_meta_teacher_loss_is_prototype_weighted_per_sample():
    model = _model("tiny")
    batch = _batch(scores=(0.5, 0.0, 0.8))  # row 1 weighs 0
    torch.manual_seed(1)
    meta_teacher_loss(model, batch).backward()
    first = _grads(model)
    model.zero_grad()
    torch.manual_seed(1)
    meta_teacher_loss(model, _changed_row1(batch)).backward()
    for name, grad in _grads(model).items():  # the corrupted domain labels do not depend on the rows
        assert torch.allclose(grad, first[name], atol=1e-7), name


def test_corrupted_domain_labels_follow_the_global_mix_not_the_batch():
    torch.manual_seed(0)
    drawn = corrupted_domains(30_000, torch.tensor([0.5, 0.3, 0.2]))
    shares = torch.bincount(drawn, minlength=3).float() / len(drawn)
    assert torch.allclose(shares, torch.tensor([0.5, 0.3, 0.2]), atol=0.01)
    # a batch of one domain still gets every domain's label, in the global proportions
    assert set(corrupted_domains(200, torch.tensor([1.0, 1.0, 1.0])).tolist()) == {0, 1, 2}


def test_stage1_a_sample_with_zero_weight_contributes_exactly_zero_gradient():
    teacher, student = _model("small", seed=1), _model("tiny", seed=2)
    for p in teacher.parameters():
        p.requires_grad_(False)
    model = MetaStudent(student, torch.nn.Linear(128, 256))
    pairs = uniform_map(2, 4)
    batch = _batch(scores=(0.5, -1.0, 0.8))  # t = -1 makes λ = 0 for row 1
    stage1_loss(model, teacher, batch, pairs).backward()
    first = _grads(model)
    assert first and all(g.abs().sum() > 0 for n, g in first.items() if "projection" in n)
    model.zero_grad()
    stage1_loss(model, teacher, _changed_row1(batch), pairs).backward()
    for name, grad in _grads(model).items():
        assert torch.allclose(grad, first[name], rtol=0, atol=1e-8), name


def test_stage1_loss_equals_the_weighted_mean_of_each_samples_own_loss():
    teacher, student = _model("small", seed=1), _model("tiny", seed=2)
    model = MetaStudent(student, torch.nn.Linear(128, 256)).eval()
    batch = _batch(scores=(0.5, 0.2, 0.8))
    whole = stage1_loss(model, teacher, batch, uniform_map(2, 4)).item()
    singles = []
    for i in range(3):
        row = {k: v[i:i + 1] for k, v in batch.items()}
        singles.append(stage1_loss(model, teacher, row, uniform_map(2, 4)).item())
    assert whole == pytest.approx(sum(singles) / 3, rel=1e-4)


def test_stage2_uses_lambda_only_when_weight_prediction_is_on():
    teacher, student = _model("small", seed=1), _model("tiny", seed=2)
    batch = _batch(scores=(-1.0, -1.0, -1.0))  # every λ is 0
    assert stage2_loss(student.classifier, teacher, batch, weight_prediction=True).item() == 0.0
    assert stage2_loss(student.classifier, teacher, batch, weight_prediction=False).item() > 0.0
