from nlpfactory.components.build import Dataset, Model, stage_component

soft_label = stage_component("soft_label", dataset=Dataset, teacher=Model, labelled=Dataset)
