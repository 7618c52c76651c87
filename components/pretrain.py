from nlpfactory.components.build import Dataset, Model, stage_component

pretrain = stage_component("pretrain", pretrained_model=Model, dataset=Dataset)
