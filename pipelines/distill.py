"""prepare_data → finetune (teacher) → distill (vanilla KD) → evaluate teacher and student →
compare: how much of the teacher a student many times smaller keeps."""

from kfp import dsl

from nlpfactory.components.distill import distill
from nlpfactory.components.export import export
from nlpfactory.components.finetune import finetune
from nlpfactory.components.form import form
from nlpfactory.components.prepare_data import prepare_data
from nlpfactory.distill.config import DistillConfig
from nlpfactory.pipelines.data_options import DATA_OPTIONS, with_data_options
from nlpfactory.pipelines.identity import identify_tasks
from nlpfactory.pipelines.teacher_and_student import evaluate_and_compare
from nlpfactory.stages.prepare_data import PrepareConfig
from nlpfactory.train.rates import rate_help

NAME = "distill"


@dsl.pipeline(name=NAME)
@form(PrepareConfig, DistillConfig,
      teacher="Model the teacher starts from: auto (the cached zh-small backbone, else the small preset from scratch), a preset (tiny, small, base), a Model folder, or a hub id such as hfl/rbt3.",
      teacher_epochs="Passes over the training data when fine-tuning the teacher.",
      teacher_learning_rate=rate_help("teacher", "Peak learning rate of the teacher"),
      learning_rate=rate_help("student", "Peak learning rate of the student"),
      seed="Random seed for the split and the training: the same seed gives the same models.",
      register_name="Register the exported student in the MLflow model registry under this name (empty: do not register).")
@with_data_options(*DATA_OPTIONS, "domain_col", "task", "format", "max_rows")
def distill_pipeline(
    data: dict,
    teacher: str = "auto",
    teacher_epochs: int = 3,
    teacher_learning_rate: float = 0.0,
    student: str = "auto",
    student_init: str = "random",
    epochs: int = 3,
    learning_rate: float = 0.0,
    temperature: float = 2.0,
    alpha: float = 0.5,
    transfer_source: str = "",
    transfer_rows: int = 0,
    batch_size: int = 32,
    max_length: int = 128,
    seed: int = 42,
    nproc_per_node: int = 1,
    nodes: int = 1,
    register_name: str = "",
) -> str:
    """Fine-tune a teacher, distill a small student from it with vanilla KD (token-level for
    sequence labeling), evaluate both, compare accuracy (entity F1 for taggers), parameters,
    size on disk and latency per sample, and export the student."""
    dataset = prepare_data(**data, seed=seed).outputs["dataset"]
    trained = finetune(dataset=dataset, model=teacher, epochs=teacher_epochs, learning_rate=teacher_learning_rate,
                       batch_size=batch_size, max_length=max_length, seed=seed,
                       nproc_per_node=nproc_per_node, nodes=nodes)
    teacher_model = trained.outputs["trained_model"]
    distilled = distill(dataset=dataset, teacher=teacher_model, method="vanilla", student=student,
                        student_init=student_init, epochs=epochs, learning_rate=learning_rate,
                        temperature=temperature, alpha=alpha, transfer_source=transfer_source,
                        transfer_rows=transfer_rows, batch_size=batch_size, max_length=max_length,
                        seed=seed, nproc_per_node=nproc_per_node, nodes=nodes)
    student_model = distilled.outputs["student_model"]
    evaluate_and_compare(teacher_model, student_model, dataset)
    exported = export(model=student_model, dataset=dataset, register_name=register_name)
    identify_tasks(NAME)
    return exported.outputs["Output"]
