"""Knowledge distillation: vanilla KD and MetaKD (docs/methods.md §1–2).

config.py      MetaTeacherConfig, DistillConfig, SoftLabelConfig
losses.py      the loss registry (name -> function), per-sample when asked
layer_map.py   which teacher layer each student layer learns from
internals.py   logits, token states and attention scores of a BERT-style classifier
intermediate.py layer-by-layer matching (hidden states, attention scores)
prototypes.py  prototype scores ("class" and "domain" variants)
metakd.py      domain branch, meta-teacher loss, domain-expertise weight, stage 1/2 losses
meta_teacher.py the meta-teacher stage (train, save, load)
meta_distill.py the two-stage MetaKD student training
vanilla.py     the vanilla KD loss
student.py     a student from a preset or from the teacher's layers
run.py         the distill stage (vanilla | metakd), writing a plain classifier folder
soft_labels.py the teacher's logits written into a Dataset
compare.py     teacher-vs-student report and the per-domain table
"""
