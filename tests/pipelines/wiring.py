"""Read a compiled pipeline's DAG as plain strings: which task feeds which input."""

from google.protobuf import json_format

CHANNEL = "pipelinechannel--"


def wiring(pipeline_fn) -> dict[str, dict[str, str]]:
    """task -> input -> where it comes from: `param NAME` (a pipeline input, or a loop's item),
    `TASK.OUTPUT` (another task's output, `TASK-OUTPUT` when it crosses into a loop or a
    branch), or `= VALUE` (a constant). Tasks of loops and branches are listed too."""
    spec = json_format.MessageToDict(pipeline_fn.pipeline_spec)
    dags = [spec["root"]["dag"]] + [c["dag"] for c in spec["components"].values() if "dag" in c]
    out = {}
    for dag in dags:
        for name, task in dag["tasks"].items():
            inputs = task.get("inputs", {})
            wired = {k: _parameter(v) for k, v in inputs.get("parameters", {}).items()}
            wired |= {k: _artifact(v) for k, v in inputs.get("artifacts", {}).items()}
            out[name] = wired
    return out


def _parameter(value: dict) -> str:
    if "componentInputParameter" in value:
        return "param " + value["componentInputParameter"].removeprefix(CHANNEL)
    if "runtimeValue" in value:
        return f"= {value['runtimeValue']['constant']}"
    source = value["taskOutputParameter"]
    return f"{source['producerTask']}.{source['outputParameterKey']}"


def _artifact(value: dict) -> str:
    if "componentInputArtifact" in value:
        return value["componentInputArtifact"].removeprefix(CHANNEL)
    source = value["taskOutputArtifact"]
    return f"{source['producerTask']}.{source['outputArtifactKey'].removeprefix(CHANNEL)}"
