import dataclasses
import warnings

import pytest

from nlpfactory.config import from_params, option, parse_value
from nlpfactory.metrics import classification_metrics
from nlpfactory.tracking import stage_run


def test_metrics_match_hand_computed_values():
    # true:  0 0 0 1 1 2 ; pred: 0 0 1 1 2 2
    m = classification_metrics([0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 2, 2], ["a", "b", "c"])
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["per_class"]["a"] == {"precision": 1.0, "recall": pytest.approx(2 / 3), "f1": pytest.approx(0.8), "support": 3}
    assert m["per_class"]["b"]["precision"] == pytest.approx(0.5)
    assert m["per_class"]["c"]["f1"] == pytest.approx(2 / 3)
    assert m["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert m["confusion_matrix"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]


@dataclasses.dataclass
class Demo:
    epochs: int = option(3, "passes")
    rate: float = option(0.1, "rate")
    names: list = option([], "names")


def test_from_params_keeps_config_fields_and_fixes_kfp_floats():
    cfg = from_params(Demo, {"epochs": 2.0, "rate": 1, "other": "x", "names": ["a"]})
    assert cfg == Demo(epochs=2, rate=1.0, names=["a"]) and isinstance(cfg.epochs, int)


def test_parse_value_by_type():
    assert parse_value("true", bool) is True and parse_value("3", int) == 3
    assert parse_value("a,b", list) == ["a", "b"] and parse_value('{"x": 1}', dict) == {"x": 1}
    with pytest.raises(ValueError):
        parse_value("maybe", bool)


def test_unreachable_tracking_server_warns_once_and_the_stage_finishes(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # nothing listens on port 9
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with stage_run("finetune", {"epochs": 1}) as run:
            run.log_metrics({"loss": 1.0}, step=1)
            run.log_text("report", "report.md")
            finished = True
    assert finished and not run.active
    messages = [str(w.message) for w in caught if "MLflow tracking off" in str(w.message)]
    assert len(messages) == 1 and "127.0.0.1:9" in messages[0]


def test_pipeline_tasks_share_one_parent_run():
    from mlflow.tracking import MlflowClient

    from nlpfactory.tracking import TAG_PARENT, tracking_uri

    for task in ("prepare_data", "finetune"):
        with stage_run(task, {"x": 1}, pipeline="finetune", pipeline_run_id="run-123") as run:
            run.log_metrics({"m": 1.0})
    client = MlflowClient(tracking_uri())
    exp = client.get_experiment_by_name("finetune")
    runs = client.search_runs([exp.experiment_id])
    parents = [r for r in runs if r.data.tags.get(TAG_PARENT) == "true"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId")]
    assert len(parents) == 1 and len(children) == 2
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {parents[0].info.run_id}
    assert parents[0].info.status == "FINISHED"
