"""The layout rules of DESIGN.md, held by tests."""

import ast
from pathlib import Path

import tomllib

REPO = Path(__file__).resolve().parent.parent


def test_library_never_imports_kfp():
    offenders = []
    for path in (REPO / "lib" / "nlpfactory").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n == "kfp" or n.startswith(("kfp.", "nlpfactory.components", "nlpfactory.pipelines")) for n in names):
                offenders.append(str(path.relative_to(REPO)))
    assert not offenders, f"lib/ must not import kfp, components or pipelines: {offenders}"


def test_every_package_folder_is_listed_in_pyproject():
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    roots = {"lib/nlpfactory": "nlpfactory", "components": "nlpfactory.components", "pipelines": "nlpfactory.pipelines"}
    found = set()
    for folder, package in roots.items():
        for init in (REPO / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(REPO / folder)
            found.add(".".join([package, *rel.parts]))
    assert found == listed, f"add to / remove from pyproject packages: {found ^ listed}"
