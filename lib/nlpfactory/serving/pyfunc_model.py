"""The MLflow models-from-code entry point: MLflow runs this file to build the pyfunc, so the
logged model holds code, not a pickled object. It imports only mlflow, pandas and (in
load_context) the few nlpfactory modules that registry.py bundles as the model's code_paths,
so the registered model loads where nlpfactory is not installed."""

import mlflow
import pandas as pd


class TextClassifierModel(mlflow.pyfunc.PythonModel):
    """Texts in: a list of strings, or a DataFrame whose `text` column (else its first column)
    holds them, plus `text_b` for pair models. Out: a DataFrame with `label` (the label name)
    and `probabilities` (label-id order, as in the export's nlpfactory.json)."""

    def load_context(self, context):
        from nlpfactory.models.card import read_card
        from nlpfactory.serving.onnx_predictor import OnnxPredictor

        folder = context.artifacts["export"]
        self.predictor = OnnxPredictor(folder, read_card(folder))

    def predict(self, context, model_input, params=None) -> pd.DataFrame:
        if isinstance(model_input, pd.DataFrame):
            frame = model_input
        elif isinstance(model_input, dict):
            frame = pd.DataFrame(model_input)
        else:
            frame = pd.DataFrame({"text": list(model_input)})
        texts = frame["text"] if "text" in frame else frame.iloc[:, 0]
        texts_b = frame["text_b"].astype(str).tolist() if "text_b" in frame else None
        probs = self.predictor.predict_proba(texts.astype(str).tolist(), texts_b)
        labels = self.predictor.labels
        return pd.DataFrame({"label": [labels[i] for i in probs.argmax(axis=1)],
                             "probabilities": [row.tolist() for row in probs]})


mlflow.models.set_model(TextClassifierModel())
