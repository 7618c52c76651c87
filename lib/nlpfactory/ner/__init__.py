"""Sequence labeling (named-entity recognition): one tag per character, entities as spans.

Inside the factory every tag sequence is BIO (`B-PER I-PER O`); BMES and BIOES input is
converted on reading. Modules: tags (schemes and spans), read (the two file shapes and their
checks), corpora (msra-ner, pd98-ner), metrics (entity-level scores), align (characters to
sub-tokens and long sentences to windows), train (token classification), kd (token-level
distillation), inference (texts to tags with any runner, free of torch), predict (tags and spans
from a Model folder or an export).
"""
