import math

import pytest
import torch

from nlpfactory.distill.losses import (
    LOSSES,
    attention_mse,
    hard_cross_entropy,
    hidden_mse,
    kl_divergence,
    soft_cross_entropy,
    weighted_mean,
)


def _softmax(z, t):
    e = [math.exp(v / t) for v in z]
    return [v / sum(e) for v in e]


@pytest.mark.parametrize("temperature", [1.0, 2.0, 4.0])
def test_kd_loss_equals_hand_computed_value(temperature):
    student, teacher = [1.0, 0.0, -1.0], [3.0, 1.0, 0.5]
    p, q = _softmax(teacher, temperature), _softmax(student, temperature)
    kl = sum(pi * math.log(pi / qi) for pi, qi in zip(p, q)) * temperature**2
    ce = -sum(pi * math.log(qi) for pi, qi in zip(p, q)) * temperature**2
    got_kl = kl_divergence(torch.tensor([student]), torch.tensor([teacher]), temperature)
    got_ce = soft_cross_entropy(torch.tensor([student]), torch.tensor([teacher]), temperature)
    assert got_kl.item() == pytest.approx(kl, rel=1e-5)
    assert got_ce.item() == pytest.approx(ce, rel=1e-5)


def test_kd_loss_is_zero_when_student_matches_teacher_and_per_sample_when_asked():
    z = torch.tensor([[1.0, 2.0], [0.5, -0.5]])
    assert kl_divergence(z, z, 2.0).item() == pytest.approx(0.0, abs=1e-7)
    assert kl_divergence(z, z.flip(0), 2.0, reduction="none").shape == (2,)


def test_hard_cross_entropy_by_hand():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    expected = [-math.log(_softmax([2.0, 0.0], 1)[0]), -math.log(_softmax([0.0, 1.0], 1)[0])]
    got = hard_cross_entropy(logits, torch.tensor([0, 0]), reduction="none")
    assert got.tolist() == pytest.approx(expected, rel=1e-6)


def test_hidden_mse_leaves_padding_out_and_uses_the_projection():
    student = torch.zeros(1, 3, 2)
    teacher = torch.ones(1, 3, 4)
    mask = torch.tensor([[1, 1, 0]])
    teacher_padded_differently = teacher.clone()
    teacher_padded_differently[0, 2] = 100.0
    projection = torch.nn.Linear(2, 4)
    torch.nn.init.zeros_(projection.weight)
    torch.nn.init.constant_(projection.bias, 3.0)
    assert hidden_mse(student, teacher, mask, projection).item() == pytest.approx(4.0)
    assert hidden_mse(student, teacher_padded_differently, mask, projection).item() == pytest.approx(4.0)


def test_attention_mse_excludes_masked_positions():
    student = torch.zeros(1, 2, 3, 3)
    teacher = torch.zeros(1, 2, 3, 3)
    teacher[0, :, :2, :2] = 2.0  # real pairs differ by 2
    teacher[0, :, 2, :] = 50.0  # rows and columns of the padded token: ignored
    teacher[0, :, :, 2] = 50.0
    mask = torch.tensor([[1, 1, 0]])
    assert attention_mse(student, teacher, mask).item() == pytest.approx(4.0)


def test_attention_mse_refuses_maps_with_different_head_counts():
    student = torch.zeros(1, 1, 2, 2)
    teacher = torch.stack([torch.full((2, 2), 2.0), torch.full((2, 2), 4.0)])[None]
    with pytest.raises(ValueError, match="head for head"):
        attention_mse(student, teacher, torch.ones(1, 2))


def test_a_sample_with_weight_zero_contributes_exactly_zero_gradient():
    logits = torch.randn(3, 4, requires_grad=True)
    teacher = torch.randn(3, 4)
    loss = weighted_mean(kl_divergence(logits, teacher, 2.0, reduction="none"), torch.tensor([1.0, 0.0, 0.5]))
    loss.backward()
    assert torch.equal(logits.grad[1], torch.zeros(4))
    assert logits.grad[0].abs().sum() > 0 and logits.grad[2].abs().sum() > 0


def test_weighted_mean_refuses_a_batch_wide_weight():
    with pytest.raises(ValueError, match="one weight per sample"):
        weighted_mean(torch.ones(3), torch.ones(1))


def test_the_config_chooses_among_the_registered_soft_losses():
    from nlpfactory.distill.config import SOFT_LOSSES, DistillConfig

    assert set(SOFT_LOSSES) == set(LOSSES)
    with pytest.raises(ValueError, match="soft_loss"):
        DistillConfig(soft_loss="mse")


def test_soft_cross_entropy_is_the_kl_plus_the_teachers_entropy():
    torch.manual_seed(0)
    student, teacher = torch.randn(4, 3), torch.randn(4, 3)
    p = torch.softmax(teacher / 2, -1)
    entropy = -(p * p.log()).sum(-1) * 4  # times T²
    kl = LOSSES["kl"](student, teacher, 2.0, reduction="none")
    assert torch.allclose(LOSSES["soft_ce"](student, teacher, 2.0, reduction="none"), kl + entropy, atol=1e-5)
