"""Knowledge distillation: vanilla KD and MetaKD (docs/methods.md §1–2).

config.py      MetaTeacherConfig, DistillConfig, SoftLabelConfig
losses.py      the loss registry (name -> function), per-sample when asked
features.py    a BERT-style classifier's logits, token states and attention scores; which
               teacher layer each student layer learns from; layer-by-layer matching
               (hidden states, attention head for head or left out)
prototypes.py  prototype scores ("class" and "domain" variants)
metakd.py      domain branch, meta-teacher loss (corrupted domain labels from the domain
               mix), domain-expertise weight, stage 1/2 losses, the two-stage student training
meta_teacher.py the meta-teacher stage (train, save, load)
rows.py        domain ids, prototype scores and stored logits attached to training rows
vanilla.py     the vanilla KD loss
student.py     a student from a preset or from the teacher's layers
run.py         the distill stage (vanilla | metakd), writing a plain classifier folder
soft_labels.py the teacher's logits written into a Dataset
compare.py     teacher-vs-student report and the per-domain table
"""
