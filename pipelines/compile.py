"""Compile every component to component_specs/<name>.yaml and every pipeline to
pipelines/compiled/<name>.yaml. Both are checked in; a test fails when they are stale."""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
from pathlib import Path

from kfp import compiler
from kfp.dsl.python_component import PythonComponent

import nlpfactory.components as components_package
from nlpfactory.pipelines import registry

REPO = Path(__file__).resolve().parent.parent
SPECS_DIR = REPO / "component_specs"
COMPILED_DIR = REPO / "pipelines" / "compiled"
STAGES_DOC = REPO / "docs" / "stages.md"


def components() -> dict[str, PythonComponent]:
    """Every component defined in nlpfactory.components, by its name."""
    found = {}
    for info in pkgutil.iter_modules(components_package.__path__):
        module = importlib.import_module(f"nlpfactory.components.{info.name}")
        for value in vars(module).values():
            if isinstance(value, PythonComponent) and value.python_func.__module__ == module.__name__:
                found[value.name] = value
    return dict(sorted(found.items()))


def compile_specs(out_dir: Path = SPECS_DIR) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, component in components().items():
        path = out_dir / f"{name.replace('-', '_')}.yaml"
        compiler.Compiler().compile(component, str(path))
        written.append(path)
    return written


def compile_pipelines(out_dir: Path = COMPILED_DIR) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in registry.names():
        # Plain, without cluster settings: the studio opens these as templates and compiles
        # them back to the same YAML. `nlpfactory compile` adds the settings (by default the
        # mlflow-tracking ConfigMap on every task).
        path = out_dir / f"{name}.yaml"
        compiler.Compiler().compile(registry.get(name), str(path))
        written.append(path)
    return written


def stages_reference() -> str:
    """docs/stages.md: every stage's artifacts and options, from the same registry and configs
    as the components and the commands."""
    from nlpfactory import stages
    from nlpfactory.config import defaults, describe

    lines = ["# The stages", "",
             "Generated from `lib/nlpfactory/stages/` by `make specs`; do not edit by hand. Each stage is",
             "a Kubeflow component (`component_specs/`), a command (`nlpfactory <stage> --help`) and a",
             "Python entry (`nlpfactory.stages.get(name).run(cfg, inputs, outputs, tracker)`), all with",
             "these names and defaults.", ""]
    for name in stages.names():
        stage = stages.get(name)
        lines += [f"## {name}", "", stage.SUMMARY, "", "| artifact | | what |", "|---|---|---|"]
        for kind, ports in (("in", stage.INPUTS), ("out", stage.OUTPUTS), ("recorded", stage.RECORDS)):
            for port_name, port in ports.items():
                lines.append(f"| `{port_name}` | {kind}{' (optional)' if port.optional else ''} | {port.help} |")
        lines += ["", "| option | default | what |", "|---|---|---|"]
        help_for = describe(stage.Config)
        given = defaults(stage.Config)
        for option in help_for:
            shown = json.dumps(given[option], ensure_ascii=False) if option in given else "required"
            lines.append(f"| `{option}` | `{shown}` | {help_for[option].replace('|', '/')} |")
        lines.append("")
    return "\n".join(lines)


def write_stages_reference(path: Path = STAGES_DOC) -> list[Path]:
    path.write_text(stages_reference(), encoding="utf-8")
    return [path]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("what", choices=["specs", "pipelines", "all"])
    args = parser.parse_args(argv)
    paths = []
    if args.what in ("specs", "all"):
        paths += compile_specs() + write_stages_reference()
    if args.what in ("pipelines", "all"):
        paths += compile_pipelines()
    for p in paths:
        print(p.relative_to(REPO))


if __name__ == "__main__":
    main()
