"""The end every distillation recipe shares: teacher and student evaluated on the same test
split, and (with one student) compared. Called inside a pipeline function, so its tasks join
that pipeline."""

from __future__ import annotations

from nlpfactory.components.compare import compare
from nlpfactory.components.evaluate import evaluate


def evaluate_both(teacher, student, dataset, **options):
    """Evaluate the teacher and the student Models on `dataset`; `options` go to both
    evaluations (e.g. domain). Returns the two tasks."""
    tasks = []
    for name, model in (("teacher", teacher), ("student", student)):
        task = evaluate(model=model, dataset=dataset, model_name=name, **options)
        task.set_display_name(f"evaluate {name}")
        tasks.append(task)
    return tasks


def evaluate_and_compare(teacher, student, dataset) -> None:
    """Both evaluations, then the comparison table: accuracy, size and latency side by side."""
    teacher_eval, student_eval = evaluate_both(teacher, student, dataset)
    compare(
        teacher=teacher,
        student=student,
        dataset=dataset,
        teacher_metrics=teacher_eval.outputs["metrics"],
        student_metrics=student_eval.outputs["metrics"],
    )
