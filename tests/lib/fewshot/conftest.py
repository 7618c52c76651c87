"""A vocabulary learned from a few sentences, and a masked LM whose logits a test sets by hand."""

import pytest
import torch
from torch import nn

from nlpfactory.models.tokenizer import learn_tokenizer


@pytest.fixture(scope="session")
def tokenizer():
    return learn_tokenizer(["非常不好看的电影", "总之很好", "体育财经新闻", "这是一个句子？对"], vocab_size=200)


class _PositionEncoder(nn.Module):
    """Hidden state at token t = one-hot(t): the head's weight then sets each position's logits."""

    def __init__(self, width):
        super().__init__()
        self.width = width
        self.seen = None

    def forward(self, inputs_embeds, attention_mask=None, token_type_ids=None):
        self.seen = inputs_embeds
        n = inputs_embeds.shape[1]
        hidden = torch.eye(self.width)[:n].unsqueeze(0).expand(inputs_embeds.shape[0], -1, -1)
        return (hidden + 0 * inputs_embeds.sum(),)


class HandBuiltMLM(nn.Module):
    """`logits[t]` is the vocabulary logits at position t, whatever the input."""

    def __init__(self, logits: torch.Tensor, embedding_dim: int = 8):
        super().__init__()
        positions, vocab = logits.shape
        self.embeddings = nn.Embedding(vocab, embedding_dim)
        self.base_model = _PositionEncoder(positions)
        self.cls = nn.Linear(positions, vocab, bias=False)
        with torch.no_grad():
            self.cls.weight.copy_(logits.T)

    def get_input_embeddings(self):
        return self.embeddings


@pytest.fixture
def hand_built_mlm():
    return HandBuiltMLM
