from nlpfactory.components.build import Dataset, Model, stage_component

distill = stage_component("distill", dataset=Dataset, teacher=Model, student_model=Model)
