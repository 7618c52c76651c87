"""Each component is a form over one stage config: same names, same defaults, every
parameter described (the Kubeflow UI shows the descriptions)."""

import dataclasses
import inspect

import pytest

from nlpfactory.config import defaults
from nlpfactory.pipelines.compile import components

# component name -> the config it is a form of; a new stage adds one line here.
FORMS = {
    "finetune": "nlpfactory.finetune:FinetuneConfig",
    "evaluate": "nlpfactory.evaluate:EvaluateConfig",
    "prepare-data": "nlpfactory.data.prepare:PrepareConfig",
    "distill": "nlpfactory.distill.config:DistillConfig",
    "meta-teacher": "nlpfactory.distill.config:MetaTeacherConfig",
    "soft-label": "nlpfactory.distill.config:SoftLabelConfig",
    "fewshot": "nlpfactory.fewshot.config:FewshotConfig",
    "augment-data": "nlpfactory.augment.run:AugmentConfig",
    "pretrain": "nlpfactory.pretrain:PretrainConfig",
    "backbone": "nlpfactory.backbones:BackboneConfig",
    "predict": "nlpfactory.serving.predict_file:PredictConfig",
    "export": "nlpfactory.serving.export:ExportConfig",
    "compare": "nlpfactory.distill.compare:CompareConfig",
    "domain-table": "nlpfactory.distill.compare:DomainTableConfig",
}
COMMON = {"pipeline_name", "pipeline_run_id"}


def _config(path):
    import importlib

    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


def _parameters(component):
    """Plain (non-artifact) parameters with defaults: the form's options. Required inputs
    without a default (wired from other tasks) are not options."""
    from kfp.dsl.types.type_utils import is_parameter_type

    inputs = component.component_spec.inputs or {}
    signature = inspect.signature(component.python_func)
    return {n: p.default for n, p in signature.parameters.items()
            if n in inputs and is_parameter_type(inputs[n].type) and p.default is not inspect.Parameter.empty}


@pytest.mark.parametrize("name", sorted(components()))
def test_component_parameters_equal_its_config(name):
    component = components()[name]
    assert name in FORMS, f"component {name!r} has no config listed in FORMS"
    config = _config(FORMS[name])
    params = {k: v for k, v in _parameters(component).items() if k not in COMMON}
    expected = defaults(config)
    assert params.keys() <= expected.keys(), f"not in {config.__name__}: {params.keys() - expected.keys()}"
    missing = {f.name for f in dataclasses.fields(config)} - params.keys()
    assert not missing, f"{config.__name__} fields missing from the component: {missing}"
    for key, value in params.items():
        assert value == expected[key], f"{name}.{key}: component default {value!r} != config {expected[key]!r}"


@pytest.mark.parametrize("name", sorted(components()))
def test_every_component_input_is_described(name):
    for input_name, spec in (components()[name].component_spec.inputs or {}).items():
        assert spec.description, f"{name}.{input_name} has no description"
