"""Confusion-matrix figures draw Chinese labels with a CJK font, not empty boxes."""

import warnings

import pytest

from nlpfactory import plotting
from nlpfactory.evaluate import confusion_figure

LABELS = ["体育", "财经", "科技 tech"]


def draw(labels, title="evaluate 学生 酒店"):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figure = confusion_figure(labels, [[5, 1, 0], [2, 7, 1], [0, 0, 9]], title)
        figure.canvas.draw()  # glyphs are looked up when drawn
    import matplotlib.pyplot as plt

    plt.close(figure)
    return [str(w.message) for w in caught]


def test_chinese_labels_find_their_glyphs():
    if plotting.cjk_font() is None:
        pytest.skip(f"no CJK font on this machine: {plotting.INSTALL_HINT}")
    assert not [m for m in draw(LABELS) if "missing from font" in m]


def test_without_a_cjk_font_the_warning_says_how_to_get_one(monkeypatch):
    monkeypatch.setattr(plotting, "cjk_font", lambda: None)
    messages = draw(LABELS)
    assert any("no CJK font found" in m and "fonts-wqy-microhei" in m for m in messages)
    assert not [m for m in draw(["negative", "positive"], "evaluate student") if "CJK" in m]
