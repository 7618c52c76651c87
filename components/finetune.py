from nlpfactory.components.build import Dataset, Model, stage_component

finetune = stage_component("finetune", dataset=Dataset, trained_model=Model)
