"""The MLflow models-from-code entry point: MLflow runs this file to build the pyfunc, so the
logged model holds a reference to library code instead of a pickled object."""

import mlflow

from nlpfactory.serving.registry import TextClassifierModel

mlflow.models.set_model(TextClassifierModel())
