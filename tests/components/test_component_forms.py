"""Each component is a form over one stage config: same names, same defaults, every
parameter described (the Kubeflow UI shows the descriptions)."""

import dataclasses
import inspect

import pytest

from nlpfactory import stages
from nlpfactory.config import defaults
from nlpfactory.pipelines.compile import components


def _required(component):
    """Plain parameters without a default: options the form makes the user fill."""
    from kfp.dsl.types.type_utils import is_parameter_type

    inputs = component.component_spec.inputs or {}
    signature = inspect.signature(component.python_func)
    return {n for n, p in signature.parameters.items()
            if n in inputs and is_parameter_type(inputs[n].type) and p.default is inspect.Parameter.empty}


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
    config = stages.get(name).Config  # every component is a stage's form
    params = _parameters(component)
    required = _required(component)
    assert required == set(config.__dataclass_fields__) - defaults(config).keys(), "required options differ"
    params |= dict.fromkeys(required)
    expected = defaults(config)
    assert params.keys() - required <= expected.keys(), f"not in {config.__name__}: {params.keys() - expected.keys()}"
    missing = {f.name for f in dataclasses.fields(config)} - params.keys()
    assert not missing, f"{config.__name__} fields missing from the component: {missing}"
    for key, value in params.items():
        if key in required:
            continue
        assert value == expected[key], f"{name}.{key}: component default {value!r} != config {expected[key]!r}"


@pytest.mark.parametrize("name", sorted(components()))
def test_every_component_input_is_described(name):
    for input_name, spec in (components()[name].component_spec.inputs or {}).items():
        assert spec.description, f"{name}.{input_name} has no description"


def test_every_stage_has_a_component_and_nothing_else_does():
    assert {n.replace("-", "_") for n in components()} == set(stages.names())


@pytest.mark.parametrize("name", sorted(components()))
def test_component_artifacts_are_the_stage_ports(name):
    from kfp.dsl.types.type_utils import is_parameter_type

    spec = components()[name].component_spec
    stage = stages.get(name)
    artifacts = {n for n, s in {**(spec.inputs or {}), **(spec.outputs or {})}.items() if not is_parameter_type(s.type)}
    assert artifacts == {*stage.INPUTS, *stage.OUTPUTS, *stage.RECORDS}
