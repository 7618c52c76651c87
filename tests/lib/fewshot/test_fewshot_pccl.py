import math

import torch

from nlpfactory.fewshot.pccl import pccl_loss


def by_hand(features, labels, m, g, k):
    pos, neg = [], []
    n = len(features)
    for i in range(n):
        for j in range(i + 1, n):
            s = sum(a * b for a, b in zip(features[i], features[j]))
            (pos if labels[i] == labels[j] else neg).append(s)
    sum_n = sum(math.exp(g * max(s + m, 0) * (s - m)) for s in neg)
    sum_p = sum(math.exp(-g * max(1 + m - s, 0) / k * (s - (1 - m))) for s in pos)
    return math.log(1 + sum_n * sum_p)


def unit(*angles):
    return [[math.cos(a), math.sin(a)] for a in angles]


def test_pccl_equals_the_formula_on_hand_made_features():
    feats = unit(0.0, 0.5, 2.0, 2.6, 1.2)
    labels = [0, 0, 1, 1, 0]
    for m, g, k in [(0.4, 64.0, 1.0), (0.25, 8.0, 2.0), (0.4, 1.0, 1.0)]:
        got = pccl_loss(torch.tensor(feats, dtype=torch.float64), torch.tensor(labels), m, g, k)
        assert math.isclose(got.item(), by_hand(feats, labels, m, g, k), rel_tol=1e-9)


def test_pccl_does_not_overflow_with_the_default_scale():
    feats = unit(0.0, 3.0, 0.1, 3.1)  # same-class rows far apart, other-class rows close: hard
    got = pccl_loss(torch.tensor(feats, dtype=torch.float64), torch.tensor([0, 0, 1, 1]))
    assert math.isfinite(got.item()) and got.item() > 50


def test_pccl_is_zero_without_both_kinds_of_pairs():
    feats = torch.tensor(unit(0.0, 1.0, 2.0), requires_grad=True)
    assert pccl_loss(feats, torch.tensor([0, 0, 0])).item() == 0
    assert pccl_loss(feats, torch.tensor([0, 1, 2])).item() == 0
    pccl_loss(feats, torch.tensor([0, 1, 2])).backward()  # still part of the graph


def test_pccl_pulls_same_class_together_and_pushes_others_apart():
    feats = torch.tensor(unit(0.0, 1.0, 0.5, 1.5), requires_grad=True)
    pccl_loss(torch.nn.functional.normalize(feats, dim=1), torch.tensor([0, 0, 1, 1]), scale=4.0).backward()
    before = feats.detach().clone()
    after = torch.nn.functional.normalize(before - 0.01 * feats.grad, dim=1)
    cos = lambda x, i, j: float(x[i] @ x[j])  # noqa: E731
    norm_before = torch.nn.functional.normalize(before, dim=1)
    assert cos(after, 0, 1) > cos(norm_before, 0, 1)
    assert cos(after, 0, 2) < cos(norm_before, 0, 2)
