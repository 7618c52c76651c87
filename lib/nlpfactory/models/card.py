"""nlpfactory.json: what a Model folder is for and where it came from.

Fields: task, kind (classifier, metakd_teacher, pet, ptuning, cptuning, mlm), labels,
domains, base_model, preset, parameters, max_length, text_columns, lineage, plus what a
kind needs to predict (a prompt, a verbalizer, class prototypes).
"""

from __future__ import annotations

import json
from pathlib import Path

from nlpfactory.errors import read_marker_json

CARD_FILE = "nlpfactory.json"


def write_card(model_dir: str | Path, card: dict) -> None:
    Path(model_dir, CARD_FILE).write_text(json.dumps(card, ensure_ascii=False, indent=2), encoding="utf-8")


def read_card(model_dir: str | Path) -> dict:
    return read_marker_json(
        model_dir, CARD_FILE, "an nlpfactory Model folder", "point at a folder written by finetune, distill or fewshot"
    )


def lineage(stage: str, run, dataset_dir=None, info=None, **more) -> dict:
    """Where a Model folder came from: the stage, its Dataset and the runs that made it (the
    MLflow run and the KFP run; empty when not tracked)."""
    out = {"stage": stage, **more}
    if dataset_dir is not None:
        out |= {"dataset": str(dataset_dir), "dataset_source": info.source if info else None}
    return out | {"mlflow_run_id": run.run_id, "kfp_run_id": run.pipeline_run_id}


def count_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())
