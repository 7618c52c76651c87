from nlpfactory.components.build import Dataset, Model, stage_component

compare = stage_component("compare", teacher=Model, student=Model, dataset=Dataset)
