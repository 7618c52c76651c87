from nlpfactory.components.build import Dataset, Model, stage_component

fewshot = stage_component("fewshot", dataset=Dataset, trained_model=Model, backbone=Model)
