from nlpfactory.components.build import stage_component

domain_table = stage_component("domain_table")
