"""Cheap caller names for kfp's task setters.

kfp's setters (set_env_variable, set_cpu_limit, ...) find their own name for an error message
with inspect.stack(), which reads the source lines of every frame on the stack and, for each,
scans sys.modules. The cost grows with the stack's depth and the modules loaded: compiling
the landing pipeline with cluster settings took 1.5 s in a fresh process and 8 s inside a test
run, where most of the time went there; the studio's server pays it on every graph it compiles.
Only the frames' function names are needed, so kfp's task module is given an `inspect` whose
stack() lists the frames without reading sources. Importing this module installs it.
"""

from __future__ import annotations

import inspect
import sys
import types

from kfp.dsl import pipeline_task


class _NamesOnlyInspect(types.ModuleType):
    """`inspect`, except that stack() gives (frame, filename, lineno, function, None, None)
    tuples: what inspect.stack() gives, without the source lines kfp does not read."""

    def __getattr__(self, name: str):
        return getattr(inspect, name)

    @staticmethod
    def stack(context: int = 1) -> list[tuple]:
        frames, frame = [], sys._getframe(1)
        while frame is not None:
            frames.append((frame, frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name, None, None))
            frame = frame.f_back
        return frames


if not isinstance(pipeline_task.inspect, _NamesOnlyInspect):
    pipeline_task.inspect = _NamesOnlyInspect("inspect")
