"""Teacher filter: keep an augmented row only if a classifier still gives it the original
label, so an edit that flipped the meaning ("不错" -> "不") does not become a wrong label."""

from __future__ import annotations

import numpy as np
import pandas as pd


def teacher_agrees(rows: pd.DataFrame, teacher) -> np.ndarray:
    """Boolean mask over `rows`: the teacher's predicted label equals the row's `label`."""
    if rows.empty:
        return np.zeros(0, dtype=bool)
    texts_b = rows["text_b"].tolist() if "text_b" in rows else None
    predicted = teacher.predict(rows["text"].tolist(), texts_b)
    return np.asarray(predicted, dtype=object) == rows["label"].astype(str).to_numpy(dtype=object)
