import pytest

from nlpfactory.distill.features import layer_map, uniform_map
from nlpfactory.errors import InputError


def test_uniform_map_pairs_the_last_layers_and_the_embeddings():
    assert uniform_map(2, 4) == {0: 0, 1: 2, 2: 4}
    assert uniform_map(4, 12) == {0: 0, 1: 3, 2: 6, 3: 9, 4: 12}
    assert uniform_map(2, 2) == {0: 0, 1: 1, 2: 2}


def test_explicit_pairs_are_read_and_checked():
    assert layer_map("1:1,2:3", 2, 4) == {0: 0, 1: 1, 2: 3}
    with pytest.raises(InputError, match="layer_map"):
        layer_map("1:1", 2, 4)
    with pytest.raises(InputError, match="fix"):
        layer_map("1:9,2:4", 2, 4)
    with pytest.raises(InputError):
        layer_map("one:two", 2, 4)
