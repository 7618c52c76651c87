from nlpfactory.components.build import Dataset, stage_component

prepare_data = stage_component("prepare_data", dataset=Dataset)
