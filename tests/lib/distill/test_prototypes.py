import numpy as np
import pytest

from nlpfactory.distill.prototypes import prototype_scores


def cos(a, b):
    return float(np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b))


# Two domains (0, 1), two classes (0, 1), hand-made 2-d features.
H = np.array([[1.0, 0.0], [3.0, 1.0], [0.0, 1.0], [2.0, 2.0], [1.0, 1.0], [0.0, 2.0]])
DOMAINS = [0, 0, 0, 1, 1, 1]
LABELS = [0, 0, 1, 0, 1, 1]


def test_class_prototype_scores_equal_the_formula():
    c00, c01 = H[[0, 1]].mean(0), H[2]
    c10, c11 = H[3], H[[4, 5]].mean(0)
    expected = [
        0.5 * cos(H[0], c00) + 0.5 * cos(H[0], c10),
        0.5 * cos(H[1], c00) + 0.5 * cos(H[1], c10),
        0.5 * cos(H[2], c01) + 0.5 * cos(H[2], c11),
        0.5 * cos(H[3], c10) + 0.5 * cos(H[3], c00),
        0.5 * cos(H[4], c11) + 0.5 * cos(H[4], c01),
        0.5 * cos(H[5], c11) + 0.5 * cos(H[5], c01),
    ]
    assert prototype_scores(H, DOMAINS, LABELS, "class").tolist() == pytest.approx(expected, rel=1e-12)


def test_domain_prototype_scores_use_one_centroid_per_domain():
    c0, c1 = H[:3].mean(0), H[3:].mean(0)
    expected = [0.5 * cos(h, c0 if k == 0 else c1) + 0.5 * cos(h, c1 if k == 0 else c0) for h, k in zip(H, DOMAINS)]
    assert prototype_scores(H, DOMAINS, LABELS, "domain").tolist() == pytest.approx(expected, rel=1e-12)


def test_other_domains_are_averaged_and_a_class_no_other_domain_has_gets_no_transfer_term():
    h = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [5.0, 1.0]])
    scores = prototype_scores(h, [0, 1, 2, 0], [0, 0, 0, 1], "class")
    assert scores[0] == pytest.approx(0.5 * cos(h[0], h[0]) + 0.5 * cos(h[0], h[[1, 2]].mean(0)))
    assert scores[3] == pytest.approx(0.5)  # its own prototype is itself; nothing to transfer to
