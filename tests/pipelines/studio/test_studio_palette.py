"""The studio's palette is read from the component specs with kfp's loader."""

from pathlib import Path

import yaml

from nlpfactory.pipelines.studio.palette import STAGES, palette

SPECS = Path(__file__).resolve().parents[3] / "component_specs"


def test_every_spec_is_in_the_palette_under_a_stage_with_its_description():
    components = palette()
    assert {yaml.safe_load(p.read_text())["pipelineInfo"]["name"] for p in SPECS.glob("*.yaml")} == set(components)
    for c in components.values():
        assert c.stage in STAGES, f"{c.name} has no palette section"
        assert c.description


def test_parameters_and_ports_are_the_specs_own():
    for c in palette().values():
        spec = yaml.safe_load(Path(c.spec_file).read_text())["root"]["inputDefinitions"]
        assert {p.name for p in c.parameters} == set(spec.get("parameters", {}))
        assert {p.name for p in c.inputs} == set(spec.get("artifacts", {}))
        for p in c.parameters:
            declared = spec["parameters"][p.name]
            assert p.type == declared["parameterType"]
            assert p.help == declared.get("description", "")
            assert p.required == ("defaultValue" not in declared and not declared.get("isOptional"))


def test_integer_defaults_stay_whole_numbers():
    finetune = palette()["finetune"]
    assert finetune.parameter("epochs").default == 3 and isinstance(finetune.parameter("epochs").default, int)


def test_a_closed_set_of_values_in_the_help_becomes_choices():
    components = palette()
    assert components["evaluate"].parameter("split").choices == ["test", "dev", "train"]
    assert components["distill"].parameter("method").choices == ["vanilla", "metakd"]
    # "e.g." means an open list: the field stays free text.
    assert components["prepare-data"].parameter("encoding").choices is None
