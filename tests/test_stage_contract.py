"""Every stage has one shape (nlpfactory.stages), and one registry drives the components, the
commands and the pipelines' defaults."""

import inspect
import json
import subprocess
import sys

import pytest

from nlpfactory import stages
from nlpfactory.config import defaults


def test_compiling_and_the_command_line_load_no_ml_stack():
    code = (
        "import sys\n"
        "from nlpfactory.pipelines import registry\n"
        "import nlpfactory.pipelines.cli, nlpfactory.pipelines.compile\n"
        "from nlpfactory import stages\n"
        "[registry.get(n) for n in registry.names()]\n"
        "[stages.get(n) for n in stages.names()]\n"
        "from nlpfactory.cli import build_parser\n"
        "build_parser(['nlpfactory.pipelines.commands'])\n"
        "print(sorted(m for m in ('torch', 'transformers', 'mlflow', 'pandas') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("name", stages.names())
def test_every_stage_has_the_contract(name):
    stage = stages.get(name)
    assert stage.SUMMARY and stage.Config.__dataclass_fields__
    assert list(inspect.signature(stage.run).parameters) == ["cfg", "inputs", "outputs", "tracker"]
    assert stage.INPUTS.keys().isdisjoint(stage.OUTPUTS) and stage.OUTPUTS.keys().isdisjoint(stage.RECORDS)
    assert set(defaults(stage.Config)).isdisjoint({*stage.INPUTS, *stage.OUTPUTS, *stage.RECORDS})


@pytest.mark.parametrize("name", [n for n in stages.names() if n not in ("prepare_data", "predict", "export")])
def test_every_stage_has_a_command_with_every_option(name, capsys):
    from nlpfactory.pipelines.cli import main

    with pytest.raises(SystemExit) as done:
        main([name.replace("_", "-"), "--help"])
    assert done.value.code == 0
    shown = capsys.readouterr().out
    for field in defaults(stages.get(name).Config):
        assert "--" + field.replace("_", "-") in shown


def test_a_stage_runs_from_its_command_without_tracking(tiny_dataset, tmp_path, monkeypatch, capsys):
    from nlpfactory.pipelines.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    common = ["--max-length", "32", "--batch-size", "16", "--no-tracking"]
    assert main(["finetune", "--dataset", str(tiny_dataset), "--output", "model", "--model", "tiny",
                 "--vocab-size", "200", "--epochs", "1", *common]) == 0
    assert main(["evaluate", "--model", "model", "--dataset", str(tiny_dataset), "--metrics-file", "m.json",
                 "--report", "report.md", "--no-tracking", "--model-name", "teacher"]) == 0
    metrics = json.loads((tmp_path / "m.json").read_text())
    from nlpfactory.evaluate import EvaluateConfig, score_split

    assert metrics["accuracy"] == score_split("model", tiny_dataset, EvaluateConfig()).metrics["accuracy"]
    assert "teacher" in (tmp_path / "report.md").read_text(encoding="utf-8")
    assert not (tmp_path / "mlflow.db").exists()


def test_a_bad_option_is_one_line_with_a_fix_and_no_traceback(tiny_dataset, tmp_path, capsys):
    from nlpfactory.pipelines.cli import main

    code = main(["finetune", "--dataset", str(tiny_dataset), "--output", str(tmp_path / "m"), "--metric", "f2"])
    err = capsys.readouterr().err
    assert code == 1 and "metric" in err and "fix:" in err and "Traceback" not in err


# (pipeline, its parameter) -> why its default differs from the config default of the stage
# option it feeds. Everything else must be equal: pipelines wire stages, they do not re-default.
DIFFERENT_ON_PURPOSE = {
    ("landing", "max_rows"): "the recipe starts from a few labelled rows",
    ("landing", "temperature"): "the recipe's T = 1",
    ("landing", "mlm_pretrain_steps"): "a short MLM warm-up on the training text, not full pretraining",
    ("landing", "mlm_model"): "the recipe's MLM warm-up starts from the cached zh-small backbone (auto); a bare pretrain starts from the small preset",
    ("fewshot", "model"): "the recipe starts from the cached zh-small backbone (auto); a bare pretrain starts from the small preset",
    ("finetune", "register_name"): "the demo pipeline ends by registering its model",
    ("metakd", "domains"): "MetaKD needs several domains: the demo corpus' three",
}


def _fed_options(pipeline_fn):
    """(pipeline parameter, component, its option) for every option wired from a pipeline input."""
    spec = pipeline_fn.pipeline_spec
    dags = [spec.root.dag] + [c.dag for c in spec.components.values() if c.HasField("dag")]
    for dag in dags:
        for task in dag.tasks.values():
            component = task.component_ref.name.removeprefix("comp-")
            for option, value in task.inputs.parameters.items():
                if value.component_input_parameter:
                    yield value.component_input_parameter.removeprefix("pipelinechannel--"), component, option


def _pipelines():
    from nlpfactory.pipelines import registry

    return registry.names()


@pytest.mark.parametrize("pipeline", _pipelines())
def test_pipeline_defaults_equal_the_stage_defaults(pipeline):
    from nlpfactory.pipelines import registry
    from nlpfactory.pipelines.local import parameters

    pipeline_fn = registry.get(pipeline)
    given = {n: d for n, (_, d) in parameters(pipeline_fn).items()}
    differ = []
    for param, component, option in _fed_options(pipeline_fn):
        name = component.rsplit("-", 1)[0] if component[-1].isdigit() else component
        if name.replace("-", "_") not in stages.STAGES:
            continue  # a loop or condition: its own tasks are listed too
        config_default = defaults(stages.get(name).Config).get(option)
        if param in given and given[param] != config_default and (pipeline, param) not in DIFFERENT_ON_PURPOSE:
            differ.append(f"{param}={given[param]!r} feeds {name}.{option}={config_default!r}")
    assert not differ, f"{pipeline}: " + "; ".join(sorted(set(differ)))
