"""A tiny classifier and its export, built once per test session (export takes seconds)."""

import pytest
from helpers import sentiment_frame, write_tiny_dataset

LABELS = ["negative", "positive"]


def write_tiny_classifier(path, kind="classifier", text_columns=("text",)):
    """A `tiny` preset classifier trained for a few seconds, so its labels follow the text
    (an untrained one gives nearly the same answer for everything)."""
    import torch

    from nlpfactory.models.card import write_card
    from nlpfactory.models.labels import name_labels
    from nlpfactory.models.load import load_model, save_model

    frame = sentiment_frame(80)
    texts, gold = frame["text"].tolist(), torch.tensor([LABELS.index(v) for v in frame["label"]])
    model, tokenizer, _ = load_model("tiny", num_labels=2, texts=texts, vocab_size=300, seed=3)
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3)
    model.train()
    for _ in range(25):
        loss = model(**batch, labels=gold).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()
    name_labels(model, LABELS)  # as every stage that trains a classifier does
    save_model(model, tokenizer, path)
    write_card(path, {"task": "classification", "kind": kind, "labels": LABELS, "max_length": 64,
                      "text_columns": list(text_columns), "preset": "tiny"})
    return path


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """(model_dir, export_dir, dataset_dir), exported with the defaults (int8, no registry)."""
    from nlpfactory.serving.export import ExportConfig, export

    root = tmp_path_factory.mktemp("serving")
    with pytest.MonkeyPatch.context() as mp:  # this runs before the per-test tracking fixture
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
        mp.chdir(root)
        model_dir = write_tiny_classifier(root / "model")
        dataset_dir = write_tiny_dataset(root / "data", n=120)
        export(ExportConfig(max_int8_accuracy_drop=100.0), model_dir, root / "export", dataset_dir)
    return model_dir, root / "export", dataset_dir


@pytest.fixture
def texts():
    return sentiment_frame(40, seed=7)["text"].tolist()


@pytest.fixture(autouse=True)
def _artifacts_in_tmp(tmp_path, monkeypatch):
    # MLflow puts run artifacts under ./mlruns when the store is SQLite: keep them out of the repo.
    monkeypatch.chdir(tmp_path)
