"""A pretrained student whose WordPiece vocabulary differs from the teacher's (same size,
other tokens at some ids) reads the teacher's token ids after its embeddings are moved."""

import torch
from transformers import BertConfig, BertForTokenClassification

from nlpfactory.distill.student import remap_vocabulary


def test_each_token_keeps_its_own_embedding_at_the_teachers_id():
    model = BertForTokenClassification(BertConfig(vocab_size=4, hidden_size=8, num_hidden_layers=1,
                                                  num_attention_heads=2, intermediate_size=16))
    before = model.get_input_embeddings().weight.detach().clone()
    own = {"[PAD]": 0, "a": 1, "b": 2, "c": 3}
    teacher = {"[PAD]": 0, "c": 1, "a": 2, "z": 3, "b": 4}
    remap_vocabulary(model, own, teacher, seed=0)
    after = model.get_input_embeddings().weight.detach()
    assert after.shape == (5, 8)
    for token, index in teacher.items():
        if token in own:
            assert torch.equal(after[index], before[own[token]]), token
    assert not any(torch.equal(after[3], row) for row in before)  # "z" is new: drawn afresh, small
    assert after[3].abs().max() < 0.2
    ids = torch.tensor([[2, 4, 1]])  # "a b c" in the teacher's ids
    assert torch.equal(model.get_input_embeddings()(ids)[0], before[[1, 2, 3]])
