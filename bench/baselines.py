"""The baselines every quality benchmark prints beside its models, on the same split:
the majority class, and a character 1-3-gram TF-IDF + logistic-regression classifier
(scikit-learn), which is what a user would try first on Chinese text."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def majority_accuracy(train_labels: Sequence[str], test_labels: Sequence[str]) -> float:
    labels, counts = np.unique(np.asarray(train_labels, dtype=str), return_counts=True)
    return float(np.mean(np.asarray(test_labels, dtype=str) == labels[counts.argmax()]))


def tfidf_accuracy(train_texts: Sequence[str], train_labels: Sequence[str], test_texts: Sequence[str],
                   test_labels: Sequence[str], seed: int = 42) -> float:
    """Character 1-3-grams, sublinear TF-IDF, L2 logistic regression (C = 10, fitted on train only)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True),
                          LogisticRegression(C=10.0, max_iter=2000, random_state=seed))
    model.fit(list(train_texts), np.asarray(train_labels, dtype=str))
    return float(np.mean(model.predict(list(test_texts)) == np.asarray(test_labels, dtype=str)))


def baseline_scores(train, test, seed: int = 42) -> dict[str, float]:
    """{"majority class": acc, "TF-IDF + LR": acc} for two frames with text and label columns
    (a pair's two texts are joined with a separator)."""
    def texts(frame):
        if "text_b" in frame:
            return (frame["text"].astype(str) + " ||| " + frame["text_b"].astype(str)).tolist()
        return frame["text"].astype(str).tolist()

    return {"majority class": majority_accuracy(train["label"], test["label"]),
            "TF-IDF + LR": tfidf_accuracy(texts(train), train["label"], texts(test), test["label"], seed)}
