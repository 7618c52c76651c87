from nlpfactory.components.build import Dataset, Model, stage_component

augment_data = stage_component("augment_data", dataset=Dataset, augmented=Dataset, mlm_model=Model, teacher=Model)
