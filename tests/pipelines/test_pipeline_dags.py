"""The pipelines' wiring, read from the compiled DAG: which task feeds which, and which pipeline
input reaches which stage option. Stages are tested on their own (tests/lib) and one pipeline
runs end to end per runner (test_finetune_pipeline.py); the rest is wiring, held here."""

import pytest
from wiring import wiring

from nlpfactory.pipelines import registry


def edges(name: str) -> dict[str, dict[str, str]]:
    return wiring(registry.get(name))


def test_finetune_trains_on_the_prepared_data_then_evaluates_and_exports_the_model():
    w = edges("finetune")
    assert w["finetune"]["dataset"] == "prepare-data.dataset"
    assert w["evaluate"]["model"] == w["export"]["model"] == "finetune.trained_model"
    assert w["export"]["dataset"] == "prepare-data.dataset"
    for option in ("model", "epochs", "batch_size", "learning_rate", "max_length", "seed"):
        assert w["finetune"][option] == f"param {option}"
    assert w["export"]["register_name"] == "param register_name"
    assert w["prepare-data"]["seed"] == "param seed"


def test_distill_teaches_a_student_from_the_finetuned_teacher_and_compares_them():
    w = edges("distill")
    assert w["distill"]["teacher"] == "finetune.trained_model" and w["distill"]["dataset"] == "prepare-data.dataset"
    assert w["distill"]["method"] == "= vanilla"
    evaluated = {w[t]["model_name"]: w[t]["model"] for t in ("evaluate", "evaluate-2")}
    assert evaluated == {"= teacher": "finetune.trained_model", "= student": "distill.student_model"}
    assert w["compare"]["teacher"] == "finetune.trained_model" and w["compare"]["student"] == "distill.student_model"
    assert {w["compare"]["teacher_metrics"], w["compare"]["student_metrics"]} == {"evaluate.metrics", "evaluate-2.metrics"}
    assert w["export"]["model"] == "distill.student_model"
    assert w["finetune"]["learning_rate"] == "param teacher_learning_rate"
    assert w["finetune"]["epochs"] == "param teacher_epochs" and w["finetune"]["model"] == "param teacher"
    for option in ("learning_rate", "epochs", "student", "student_init", "temperature", "alpha"):
        assert w["distill"][option] == f"param {option}"


def test_landing_augments_with_the_pretrained_mlm_labels_with_the_teacher_and_distills():
    w = edges("landing")
    assert w["pretrain"]["dataset"] == "prepare-data.dataset"
    assert w["pretrain"]["max_steps"] == "param mlm_pretrain_steps"
    assert w["pretrain"]["learning_rate"] == "param mlm_learning_rate" and w["pretrain"]["model"] == "param mlm_model"
    assert w["augment-data"]["mlm_model"] == "pretrain.pretrained_model" and w["augment-data"]["method"] == "= mlm"
    assert w["soft-label"] == {"dataset": "augment-data.augmented", "teacher": "finetune.trained_model"}
    assert w["distill"]["dataset"] == "soft-label.labelled" and w["distill"]["use_stored_logits"] == "= True"
    assert w["distill"]["temperature"] == "param temperature" and w["distill"]["alpha"] == "param alpha"
    assert w["compare"]["student"] == w["export"]["model"] == "distill.student_model"
    assert w["evaluate"]["dataset"] == "prepare-data.dataset"  # scored on real rows, not augmented ones


def test_metakd_distills_and_scores_one_student_per_domain_and_tabulates_them():
    w = edges("metakd")
    assert w["meta-teacher"]["dataset"] == "prepare-data.dataset"
    assert w["prepare-data"]["domains"] == "param domains" and w["prepare-data"]["other_domain"] == "= drop"
    assert w["for-loop-1"]["pipelinechannel--domains"] == "param domains"
    assert w["distill"]["domain"] == w["evaluate"]["domain"] == w["evaluate-2"]["domain"] == "param domains-loop-item"
    assert w["distill"]["teacher"] == w["evaluate"]["model"] == "meta-teacher-meta_teacher"
    assert w["distill"]["method"] == "= metakd"
    assert w["evaluate-2"]["model"] == w["export"]["model"] == "distill.student_model"
    assert w["domain-table"] == {"domains": "param domains", "teacher_metrics": "for-loop-1.evaluate-metrics",
                                 "student_metrics": "for-loop-1.evaluate-2-metrics"}
    for option in ("stage1_epochs", "stage1_learning_rate", "stage2_epochs", "stage2_learning_rate", "temperature"):
        assert w["distill"][option] == f"param {option}"


def test_fewshot_pretrains_the_backbone_only_on_request():
    w = edges("fewshot")
    with_backbone = [t for t, inputs in w.items() if inputs.get("backbone")]
    assert [w[t]["backbone"] for t in with_backbone] == ["pretrain.pretrained_model"]
    plain = [t for t, inputs in w.items() if t.startswith("fewshot") and "backbone" not in inputs]
    assert len(plain) == 1
    for task in (*with_backbone, *plain):
        assert w[task]["dataset"] == "prepare-data-dataset"
        assert w[task]["dev_shots_per_class"] == "param shots_per_class"
        for option in ("method", "pattern", "verbalizer", "shots_per_class", "learning_rate", "prompt_learning_rate"):
            assert w[task][option] == f"param {option}"
    assert w["pretrain"]["epochs"] == "param pretrain_epochs"
    assert sorted(w[t]["model"] for t in ("evaluate", "evaluate-2")) == sorted(
        f"{t}.trained_model" for t in (*with_backbone, *plain))
    spec = registry.get("fewshot").pipeline_spec
    conditions = [t.trigger_policy.condition for c in spec.components.values() if c.HasField("dag")
                  for t in c.dag.tasks.values() if t.trigger_policy.condition]
    assert any("pretrain" in c and "true" in c for c in conditions)


@pytest.mark.parametrize("name", registry.names())
def test_every_task_input_is_wired(name):
    """No stage input is left to its default by accident: each artifact input comes from a task."""
    from nlpfactory import stages

    for task, inputs in edges(name).items():
        stage = task.rsplit("-", 1)[0] if task[-1].isdigit() else task
        if stage.replace("-", "_") not in stages.STAGES:
            continue
        required = [n for n, p in stages.get(stage).INPUTS.items() if not p.optional]
        assert set(required) <= set(inputs), f"{name}.{task} misses {set(required) - set(inputs)}"


@pytest.mark.parametrize("name", ["finetune", "distill", "metakd"])
def test_a_recipe_becomes_a_tagger_recipe_by_its_task_option_alone(name):
    """task=sequence_labeling reaches the data step, and every later stage reads the task from
    the Dataset (tests/lib/ner/test_ner_end_to_end.py runs those stages' bodies on a tagger):
    no other task takes it, nor a metric that would pin a classifier's score."""
    w = edges(name)
    assert w["prepare-data"]["task"] == "param task"
    assert [t for t, inputs in w.items() if "task" in inputs] == ["prepare-data"]
    assert all("metric" not in inputs for inputs in w.values())  # domain-table's auto: entity F1 for taggers
