from nlpfactory.components.build import Model, stage_component

backbone = stage_component("backbone", backbone=Model)
