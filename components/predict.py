from nlpfactory.components.build import Dataset, Model, stage_component

predict = stage_component("predict", model=Model, data=Dataset, predictions=Dataset)
