"""MetaKD's per-domain table: each domain's teacher and student scores side by side."""

from __future__ import annotations

import dataclasses

from nlpfactory.config import option
from nlpfactory.stages import Port, StageResult
from nlpfactory.tracking import NO_TRACKING, Tracker

SUMMARY = "Tabulate each domain's teacher and student scores and how much of the teacher the student keeps."
INPUTS = {
    "teacher_metrics": Port("The meta-teacher's evaluation on each domain's test rows (collected from the loop).", "metrics_list"),
    "student_metrics": Port("Each domain student's evaluation on its domain's test rows (collected from the loop).", "metrics_list"),
}
OUTPUTS: dict[str, Port] = {}
RECORDS = {
    "report": Port("The per-domain table: teacher, student and the share the student keeps.", "report"),
    "metrics": Port("The same numbers, per domain and averaged.", "metrics"),
}


@dataclasses.dataclass
class DomainTableConfig:
    # Required: a table without its domains cannot be read, and the Kubeflow form says so.
    domains: list = dataclasses.field(metadata={"help": "The domains, in the order the per-domain results were collected."})
    metric: str = option("auto", "Which evaluation score the per-domain table shows: accuracy, macro_f1, entity_f1, or auto (entity F1 for taggers, else accuracy).")


Config = DomainTableConfig


def run(cfg: DomainTableConfig, inputs: dict, outputs: dict, tracker: Tracker = NO_TRACKING) -> StageResult:
    from nlpfactory.distill.compare import domain_table

    result, text = domain_table(cfg, [str(d) for d in cfg.domains], inputs["teacher_metrics"],
                                inputs["student_metrics"], tracker=tracker)
    return StageResult(result["flat"], report=text)
