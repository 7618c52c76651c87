"""The stage contract: every stage of the factory has the same shape.

A stage is a module in this package holding

- `Config`: its dataclass of options (the single source of the component's form fields, the
  command's options and their help), light to import: no torch, transformers, mlflow or
  pandas at module level, so compiling and submitting pipelines never load them;
- `SUMMARY`: one sentence saying what it does;
- `INPUTS`, `OUTPUTS`, `RECORDS`: its artifacts by name (`Port`s): what it reads, the folders
  it writes, and what its component records (metrics, a report, a confusion matrix);
- `run(cfg, inputs, outputs, tracker) -> StageResult`: the one entry. `inputs` maps an input's
  name to a folder path (a `metrics` port: a dict of numbers; a `metrics_list` port: a list of
  them; an optional input not given: None); `outputs` maps an output's name to the folder to
  write. The heavy implementation is imported inside `run`.

The registry below drives the components, the per-stage commands and the form tests.
"""

from __future__ import annotations

import dataclasses
import importlib
from types import ModuleType

from nlpfactory.tracking import NO_TRACKING, Tracker

# name -> module; the component, the command (`nlpfactory <name with dashes>`) and the
# MLflow task all use this name.
STAGES: dict[str, str] = {name: f"nlpfactory.stages.{name}" for name in (
    "prepare_data", "augment_data", "pretrain", "backbone", "finetune", "soft_label", "meta_teacher",
    "distill", "fewshot", "evaluate", "compare", "domain_table", "predict", "export",
)}


@dataclasses.dataclass(frozen=True)
class Port:
    """One artifact of a stage: what it is, in a sentence the Kubeflow UI and `--help` show."""

    help: str
    kind: str = "folder"  # folder | metrics | metrics_list (inputs); folder | metrics | report | confusion (outputs)
    optional: bool = False


@dataclasses.dataclass
class StageResult:
    """What every stage hands back, whoever ran it (a component, a command, a Python call)."""

    metrics: dict[str, float] = dataclasses.field(default_factory=dict)
    metadata: dict[str, dict] = dataclasses.field(default_factory=dict)  # output name -> facts about it
    report: str = ""  # Markdown for people; empty when the stage writes none
    confusion: tuple[list[str], list[list[int]]] | None = None  # labels, matrix
    value: str = ""  # a component's return value (export: the registered model's URI)


def names() -> list[str]:
    return list(STAGES)


def get(name: str) -> ModuleType:
    key = name.replace("-", "_")
    if key not in STAGES:
        raise KeyError(f"unknown stage {name!r}; choose one of: {', '.join(STAGES)}")
    return importlib.import_module(STAGES[key])


def execute(name: str, cfg, inputs: dict, outputs: dict, tracker: Tracker = NO_TRACKING) -> StageResult:
    """Run a stage and put its headline numbers on the pipeline's parent run."""
    stage = get(name)
    missing = [n for n, port in stage.INPUTS.items() if not port.optional and inputs.get(n) is None]
    missing += [n for n in stage.OUTPUTS if not outputs.get(n)]
    if missing:
        from nlpfactory.errors import ConfigError

        raise ConfigError(f"stage {name!r} needs {', '.join(missing)}",
                          fix=f"give {' and '.join('--' + n.replace('_', '-') for n in missing)}")
    if getattr(cfg, "nodes", 1) > 1:  # several pods: a PyTorchJob runs this same call with nodes=1
        from nlpfactory.cluster.stage_job import run_stage_as_job

        return run_stage_as_job(name, cfg, inputs, outputs, tracker)
    result = _run_here(stage, cfg, inputs, outputs, tracker)
    tracker.summarize(name, result.metrics)
    return result


def _run_here(stage: ModuleType, cfg, inputs: dict, outputs: dict, tracker: Tracker) -> StageResult:
    """The stage in this process, or in nproc_per_node processes under torchrun (rank 0's
    result). Under a launcher that already set WORLD_SIZE (torchrun, a PyTorchJob's pods) every
    rank runs it as it is."""
    from nlpfactory.train import distributed

    nproc = getattr(cfg, "nproc_per_node", 1)
    if nproc > 1 and not distributed.is_distributed():
        return distributed.launch(stage.run, (cfg, inputs, outputs), {"tracker": tracker}, nproc)
    return stage.run(cfg, inputs, outputs, tracker)
