from nlpfactory.components.build import Dataset, Model, stage_component

export = stage_component("export", model=Model, exported_model=Model, dataset=Dataset, returns=str)
