"""Build a stage's component from the stage itself: its ports become the artifact parameters,
its config's fields the form's options (same names, types and defaults), and the body is the
one call every component shares.

KFP reads a component's interface from its signature and ships the function's *source text*
to the container, where it is run as written; so the signature must be spelled out in source.
Here that source is written from the stage (once per import, in a few milliseconds) and
handed to KFP through Python's line cache, as if it stood in a file. What the container runs
is printed in component_specs/<name>.yaml.
"""

from __future__ import annotations

import dataclasses
import linecache
import typing

from kfp import dsl
from kfp.dsl import ClassificationMetrics, Dataset, Input, Markdown, Metrics, Model, Output

from nlpfactory import stages
from nlpfactory.components.form import form
from nlpfactory.components.image import IMAGE
from nlpfactory.config import defaults, field_types

__all__ = ["Dataset", "Model", "stage_component"]

# What a port's kind records as, in KFP's types.
_RECORDED = {"metrics": "Metrics", "report": "Markdown", "confusion": "ClassificationMetrics"}
_INPUT_KIND = {"metrics": "Metrics", "metrics_list": "list[Metrics]"}
_NAMESPACE = {
    "Input": Input,
    "Output": Output,
    "Dataset": Dataset,
    "Model": Model,
    "Metrics": Metrics,
    "Markdown": Markdown,
    "ClassificationMetrics": ClassificationMetrics,
}


def stage_component(name: str, returns: type | None = None, **folders: type):
    """The KFP component of stage `name`. `folders` gives each folder port's artifact type
    (Dataset or Model); `returns` the type of the component's return value (the stage's
    `StageResult.value`), if it has one."""
    source = component_source(name, {port: kind.__name__ for port, kind in folders.items()}, returns)
    filename = f"<nlpfactory component {name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = dict(_NAMESPACE, __name__=f"nlpfactory.components.{name}")
    exec(compile(source, filename, "exec", dont_inherit=True), namespace)  # noqa: S102 - our own generated source
    func = form(stages.get(name))(namespace[name])
    return dsl.component(func, base_image=IMAGE, install_kfp_package=False)


def component_source(name: str, folders: dict[str, str], returns: type | None) -> str:
    stage = stages.get(name)

    def folder_type(port: str) -> str:
        if port not in folders:
            raise TypeError(f"component {name}: say whether port {port!r} is a Dataset or a Model")
        return folders[port]

    required, optional = [], []
    for port, spec in stage.INPUTS.items():
        kind = _INPUT_KIND.get(spec.kind) or folder_type(port)
        (optional if spec.optional else required).append(
            f"{port}: Input[{kind}]" + (" = None" if spec.optional else "")
        )
    required += [f"{port}: Output[{folder_type(port)}]" for port in stage.OUTPUTS]
    required += [f"{port}: Output[{_RECORDED[spec.kind]}]" for port, spec in stage.RECORDS.items()]
    values, types = defaults(stage.Config), field_types(stage.Config)
    options = []
    for field in dataclasses.fields(stage.Config):
        annotation = _plain(types[field.name])
        if field.name in values:  # ascii(): the source stays ASCII whatever the default holds
            options.append(f"{field.name}: {annotation} = {ascii(values[field.name])}")
        else:
            required.append(f"{field.name}: {annotation}")
    params = "".join(f"    {p},\n" for p in required + optional + options)
    call = f'run_component("{name}", locals())'
    body = f"return {call}.value" if returns else call
    arrow = f" -> {returns.__name__}" if returns else ""
    return f"def {name}(\n{params}){arrow}:\n    from nlpfactory.components.stage import run_component\n\n    {body}\n"


def _plain(annotation) -> str:
    """A config field's type as KFP takes it: str, int, float, bool, list or dict."""
    plain = typing.get_origin(annotation) or annotation
    if plain not in (str, int, float, bool, list, dict):
        raise TypeError(f"a component option must be str, int, float, bool, list or dict, not {annotation}")
    return plain.__name__
