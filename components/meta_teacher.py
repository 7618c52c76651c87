from nlpfactory.components.build import Dataset, Model, stage_component

meta_teacher = stage_component("meta_teacher", dataset=Dataset, meta_teacher=Model)
