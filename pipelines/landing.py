"""The large-model landing recipe: prepare_data → finetune (teacher) → pretrain (the MLM that
refills masked words) → augment_data (MLM, 10 copies, 25% masking) → soft_label (teacher
logits on every augmented row) → distill (vanilla KD, T = 1, α = 0.5, `tiny` student) →
evaluate teacher and student → compare → export the student.

The teacher is a classifier with no MLM head, so the words are refilled by a separate masked
language model: `mlm_model` (a preset, or a folder / hub id with an MLM head) further
pretrained for `mlm_pretrain_steps` steps on the training text.
"""

from kfp import dsl

from nlpfactory.components.augment_data import augment_data
from nlpfactory.components.distill import distill
from nlpfactory.components.export import export
from nlpfactory.components.finetune import finetune
from nlpfactory.components.form import form
from nlpfactory.components.prepare_data import prepare_data
from nlpfactory.components.pretrain import pretrain
from nlpfactory.components.soft_label import soft_label
from nlpfactory.pipelines.data_options import DATA_OPTIONS, with_data_options
from nlpfactory.pipelines.identity import identify_tasks
from nlpfactory.pipelines.teacher_and_student import evaluate_and_compare
from nlpfactory.stages.prepare_data import PrepareConfig
from nlpfactory.train.rates import rate_help

NAME = "landing"


@dsl.pipeline(name=NAME)
@form(PrepareConfig,
      max_rows="Use a stratified sample of this many labelled rows, the few labels the recipe starts from (0: all rows).",
      teacher="Model the teacher starts from: auto (the cached zh-small backbone, else the small preset from scratch), a preset (tiny, small, base), a Model folder, or a hub id such as hfl/macbert-large-zh.",
      teacher_epochs="Passes over the training data when fine-tuning the teacher.",
      teacher_learning_rate=rate_help("teacher", "Peak learning rate of the teacher"),
      mlm_model="Masked language model that refills the masked words: auto (the cached zh-small backbone, else the small preset from scratch), a preset, or a Model folder or hub id with an MLM head.",
      mlm_pretrain_steps="Masked-LM training steps of that model on the training text before it refills words.",
      mlm_learning_rate=rate_help("mlm", "Peak learning rate of that masked-LM training"),
      expansion="Augmented copies made from each training row.",
      mask_ratio="Share of each text masked and refilled by the masked language model.",
      student="Student: auto (the cached zh-tiny backbone, else the tiny preset from scratch), or a preset size (tiny, small, base) built with the teacher's vocabulary.",
      epochs="Passes over the augmented training data when distilling.",
      learning_rate=rate_help("student", "Peak learning rate when distilling"),
      temperature="Softmax temperature of the soft labels (the recipe uses 1).",
      alpha="Share of the soft-label loss; the rest is the loss on the true labels.",
      batch_size="Examples per training step.",
      max_length="Longest input in tokens; longer texts are cut.",
      register_name="Register the exported student in the MLflow model registry under this name (empty: do not register).",
      seed="Random seed for the split, the augmentation and the training: the same seed gives the same models.")
@with_data_options(*DATA_OPTIONS, "domain_col", "max_rows", max_rows=2000)
def landing_pipeline(
    data: dict,
    teacher: str = "auto",
    teacher_epochs: int = 3,
    teacher_learning_rate: float = 0.0,
    mlm_model: str = "auto",
    mlm_pretrain_steps: int = 300,
    mlm_learning_rate: float = 0.0,
    expansion: int = 10,
    mask_ratio: float = 0.25,
    student: str = "auto",
    epochs: int = 3,
    learning_rate: float = 0.0,
    temperature: float = 1.0,
    alpha: float = 0.5,
    batch_size: int = 32,
    max_length: int = 128,
    register_name: str = "",
    seed: int = 42,
):
    """Fine-tune a large teacher, augment the training text with a masked language model, label
    it with the teacher and distill a small, fast student from it; evaluate, compare and export
    the student."""
    dataset = prepare_data(**data, seed=seed).outputs["dataset"]
    trained = finetune(dataset=dataset, model=teacher, epochs=teacher_epochs, learning_rate=teacher_learning_rate,
                       batch_size=batch_size, max_length=max_length, seed=seed)
    teacher_model = trained.outputs["trained_model"]
    filler = pretrain(dataset=dataset, model=mlm_model, max_steps=mlm_pretrain_steps,
                      learning_rate=mlm_learning_rate, batch_size=batch_size, max_length=max_length,
                      seed=seed)
    augmented = augment_data(dataset=dataset, mlm_model=filler.outputs["pretrained_model"], method="mlm",
                             expansion=expansion, mask_ratio=mask_ratio, max_length=max_length, seed=seed)
    labelled = soft_label(dataset=augmented.outputs["augmented"], teacher=teacher_model)
    distilled = distill(dataset=labelled.outputs["labelled"], teacher=teacher_model, method="vanilla",
                        student=student, epochs=epochs, learning_rate=learning_rate, temperature=temperature,
                        alpha=alpha, use_stored_logits=True, batch_size=batch_size, max_length=max_length,
                        seed=seed)
    student_model = distilled.outputs["student_model"]
    evaluate_and_compare(teacher_model, student_model, dataset)
    export(model=student_model, dataset=dataset, register_name=register_name)
    identify_tasks(NAME)
