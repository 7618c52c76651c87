from nlpfactory.components.build import Dataset, Model, stage_component

evaluate = stage_component("evaluate", model=Model, dataset=Dataset)
