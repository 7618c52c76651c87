"""Fill a component's docstring from its stage: the summary, then `Args:` from the stage's
config fields and artifacts, so the Kubeflow UI shows the same one-sentence help as the CLI,
from one source.

KFP ships only the function's own source to the container (decorators are dropped), so this
runs at definition time only.
"""

from __future__ import annotations

import inspect
from types import ModuleType

from nlpfactory.config import describe


def form(*sources: type | ModuleType, **described: str):
    """Append an `Args:` section from the sources' help (later ones win), then `described`
    (pipeline-only parameters). A source is a config class or a stage module (its config and
    its artifacts; its SUMMARY becomes the docstring when the function has none). Works for
    components and pipelines."""

    def decorate(func):
        help_for, summary = {}, func.__doc__
        for source in sources:
            if isinstance(source, ModuleType):
                help_for |= describe(source.Config)
                help_for |= {n: p.help for ports in (source.INPUTS, source.OUTPUTS, source.RECORDS)
                             for n, p in ports.items()}
                summary = summary or source.SUMMARY
            else:
                help_for |= describe(source)
        help_for |= described
        names = list(inspect.signature(func).parameters)
        missing = [n for n in names if n not in help_for]
        if missing:
            raise TypeError(f"{func.__name__}: parameters without a description: {missing}")
        lines = [inspect.cleandoc(summary or func.__name__), "", "Args:"]
        lines += [f"    {n}: {help_for[n]}" for n in names]
        func.__doc__ = "\n".join(lines)
        return func

    return decorate
