"""kfp's task setters, made cheap by pipelines/kfp_setters.py, still name themselves in errors."""

import pytest
from kfp import dsl

from nlpfactory.pipelines import kfp_setters  # noqa: F401


@dsl.component
def _step() -> str:
    return "x"


@dsl.pipeline
def _inner() -> str:
    return _step().output


def test_a_setter_on_a_pipeline_task_still_names_itself_in_its_error():
    with pytest.raises(ValueError, match="^set_env_variable can only be used on single-step components"):
        @dsl.pipeline
        def outer():
            _inner().set_env_variable("A", "1")


def test_the_stack_kfp_reads_names_each_frame_without_reading_sources():
    from kfp.dsl import pipeline_task

    def caller():
        return pipeline_task.inspect.stack()

    frames = caller()
    assert frames[0][3] == "caller" and frames[1][3] == "test_the_stack_kfp_reads_names_each_frame_without_reading_sources"
    assert all(f[4] is None for f in frames)
    assert pipeline_task.inspect.getmodule is __import__("inspect").getmodule  # the rest is inspect's own
