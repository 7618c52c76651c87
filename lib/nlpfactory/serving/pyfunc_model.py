"""The MLflow models-from-code entry point: MLflow runs this file to build the pyfunc, so the
logged model holds code, not a pickled object. It imports only mlflow, pandas and (in
load_context) the few nlpfactory modules that registry.py bundles as the model's code_paths,
so the registered model loads where nlpfactory is not installed."""

import mlflow
import pandas as pd


def texts_of(model_input) -> tuple[list[str], list[str] | None]:
    """A list of strings, or a DataFrame (or dict of columns) whose `text` column (else its
    first column) holds the texts, plus `text_b` for pair models."""
    if isinstance(model_input, pd.DataFrame):
        frame = model_input
    elif isinstance(model_input, dict):
        frame = pd.DataFrame(model_input)
    else:
        frame = pd.DataFrame({"text": list(model_input)})
    texts = frame["text"] if "text" in frame else frame.iloc[:, 0]
    texts_b = frame["text_b"].astype(str).tolist() if "text_b" in frame else None
    return texts.astype(str).tolist(), texts_b


class TextClassifierModel(mlflow.pyfunc.PythonModel):
    """Texts in (see texts_of). Out, for a classifier: a DataFrame with `label` (the label
    name) and `probabilities` (label-id order, as in the export's nlpfactory.json); for a
    tagger (an `onnx_tagger` export): `tags` (one BIO tag per character) and `entities`
    ([{"start", "end", "type", "text"}], `end` exclusive)."""

    def load_context(self, context):
        from nlpfactory.models.card import read_card

        folder = context.artifacts["export"]
        card = read_card(folder)
        if card.get("kind") == "onnx_tagger":
            from nlpfactory.ner.predict import OnnxTaggerPredictor

            self.predictor = OnnxTaggerPredictor(folder, card)
        else:
            from nlpfactory.serving.onnx_predictor import OnnxPredictor

            self.predictor = OnnxPredictor(folder, card)

    def predict(self, context, model_input, params=None) -> pd.DataFrame:
        texts, texts_b = texts_of(model_input)
        if hasattr(self.predictor, "predict_entities"):
            answers = self.predictor.predict_entities(texts)
            return pd.DataFrame({"tags": [a["tags"] for a in answers], "entities": [a["entities"] for a in answers]})
        probs = self.predictor.predict_proba(texts, texts_b)
        labels = self.predictor.labels
        return pd.DataFrame({"label": [labels[i] for i in probs.argmax(axis=1)],
                             "probabilities": [row.tolist() for row in probs]})


mlflow.models.set_model(TextClassifierModel())
