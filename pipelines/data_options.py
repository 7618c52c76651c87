"""What every recipe starts with: the options of its prepare_data task, taken from PrepareConfig
(names, types, defaults) instead of being spelled out again in each pipeline's signature, so
a changed default reaches every recipe.

KFP reads a pipeline's parameters from its signature and calls it once, with one placeholder
per parameter, to trace the graph; the signature need not be written in source (unlike a
component's, whose source is shipped), so it is extended here the way the studio builds its
pipelines.
"""

from __future__ import annotations

import functools
import inspect
import typing

from nlpfactory.config import defaults, field_types
from nlpfactory.stages.prepare_data import PrepareConfig

# The file's shape and how much of it to use; the recipes that read domains add domain_col.
DATA_OPTIONS = ("data_source", "schema", "text_col", "text_b_col", "label_col")


def with_data_options(*names: str, **new_defaults):
    """Decorate a pipeline function whose first parameter is `data`: the pipeline takes
    PrepareConfig's options `names` first (with the config's defaults, or `new_defaults`),
    and the function receives them as the dict `data`, ready for `prepare_data(**data)`."""
    config_defaults, types = defaults(PrepareConfig), field_types(PrepareConfig)

    def decorate(func):
        own = list(inspect.signature(func).parameters.values())
        if not own or own[0].name != "data":
            raise TypeError(f"{func.__name__}: the first parameter must be `data`")
        added = [
            inspect.Parameter(
                n,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                default=new_defaults.get(n, config_defaults[n]),
                annotation=typing.get_origin(types[n]) or types[n],
            )
            for n in names
        ]
        signature = inspect.signature(func).replace(parameters=added + own[1:])

        @functools.wraps(func)
        def pipeline(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            given = dict(bound.arguments)
            return func({n: given.pop(n) for n in names}, **given)

        pipeline.__signature__ = signature
        pipeline.__annotations__ = {p.name: p.annotation for p in signature.parameters.values()}
        if signature.return_annotation is not inspect.Signature.empty:
            pipeline.__annotations__["return"] = signature.return_annotation
        return pipeline

    return decorate
