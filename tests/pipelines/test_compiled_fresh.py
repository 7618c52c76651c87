"""component_specs/ and pipelines/compiled/ are generated and checked in: they must match
what `make specs` and `make pipelines` would write now."""

from pathlib import Path

import pytest

from nlpfactory.pipelines.compile import COMPILED_DIR, SPECS_DIR, compile_pipelines, compile_specs


@pytest.mark.parametrize("compile_fn, checked_in", [(compile_specs, SPECS_DIR), (compile_pipelines, COMPILED_DIR)])
def test_checked_in_yaml_is_fresh(tmp_path, monkeypatch, compile_fn, checked_in):
    monkeypatch.delenv("NLPFACTORY_IMAGE", raising=False)
    fresh = {p.name: p.read_text() for p in compile_fn(tmp_path)}
    stale = {p.name: p.read_text() for p in Path(checked_in).glob("*.yaml")}
    assert fresh.keys() == stale.keys(), "run `make specs pipelines` and commit the YAML"
    for name, text in fresh.items():
        assert stale[name] == text, f"{checked_in.name}/{name} is stale: run `make specs pipelines`"


def test_the_stage_reference_is_fresh():
    from nlpfactory.pipelines.compile import STAGES_DOC, stages_reference

    assert STAGES_DOC.read_text(encoding="utf-8") == stages_reference(), "run `make specs` and commit docs/stages.md"


@pytest.mark.parametrize("name", __import__("nlpfactory.pipelines.registry", fromlist=["names"]).names())
def test_every_pipeline_parameter_has_a_form_description(name):
    """The Kubeflow UI renders pipeline inputs as a form; each field needs its sentence."""
    from nlpfactory.pipelines import registry

    spec = registry.get(name).pipeline_spec
    for param, definition in spec.root.input_definitions.parameters.items():
        assert definition.description, f"{name}: parameter {param!r} has no description"


@pytest.mark.parametrize("function, checked_in", [("compile_specs", SPECS_DIR), ("compile_pipelines", COMPILED_DIR)])
def test_an_install_without_the_checked_in_yaml_compiles_the_same_files(tmp_path, function, checked_in):
    from nlpfactory.pipelines.studio.palette import checked_in_or_compiled

    assert checked_in_or_compiled(checked_in, function) == checked_in
    compiled = checked_in_or_compiled(tmp_path / checked_in.name, function)
    assert sorted(p.name for p in compiled.glob("*.yaml")) == sorted(p.name for p in checked_in.glob("*.yaml"))
