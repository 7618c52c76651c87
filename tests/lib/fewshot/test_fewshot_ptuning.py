import pytest
import torch

from nlpfactory.fewshot.model import PromptedMLM
from nlpfactory.fewshot.pattern import PromptLayout, build_rows, ptuning_pattern
from nlpfactory.fewshot.ptuning import PromptEncoder
from nlpfactory.train.batching import collate


def test_lstm_encoder_is_a_bilstm_then_mlp():
    torch.manual_seed(0)
    encoder = PromptEncoder(length=5, dim=8, kind="lstm")
    assert encoder.lstm.num_layers == 2 and encoder.lstm.bidirectional and encoder.lstm.hidden_size == 8
    assert [m.__class__.__name__ for m in encoder.mlp] == ["Linear", "ReLU", "Linear"]
    assert (encoder.mlp[0].in_features, encoder.mlp[0].out_features, encoder.mlp[2].out_features) == (16, 8, 8)
    h = encoder()
    assert h.shape == (5, 8)
    expected = encoder.mlp(encoder.lstm(encoder.embeddings.unsqueeze(0))[0][0])
    assert torch.allclose(h, expected)
    h.sum().backward()
    assert encoder.embeddings.grad is not None and encoder.embeddings.grad.abs().sum() > 0


def test_mlp_encoder_has_no_lstm():
    encoder = PromptEncoder(length=3, dim=4, kind="mlp")
    assert encoder.lstm is None and encoder().shape == (3, 4)
    with pytest.raises(ValueError):
        PromptEncoder(3, 4, kind="gru")


def test_pseudo_tokens_replace_the_input_embeddings_at_their_positions(tokenizer, hand_built_mlm):
    layout = PromptLayout(ptuning_pattern("{text}？{mask}"), mask_count=1, prompt_length=3)
    assert layout.pattern == "{prompt}{text}？{prompt}{mask}"
    rows = build_rows(tokenizer, layout, ["好看", "不好看的电影"])
    batch = collate(rows)
    mlm = hand_built_mlm(torch.zeros(len(rows[1]["input_ids"]), len(tokenizer)))
    encoder = PromptEncoder(3, 8)
    PromptedMLM(mlm, encoder).hidden_states(batch)
    seen, words = mlm.base_model.seen, mlm.embeddings(batch["input_ids"])
    for b, row in enumerate(rows):
        assert row["prompt_positions"] == [1, 2, len(row["input_ids"]) - 3]
        for j, pos in enumerate(row["prompt_positions"]):
            assert torch.allclose(seen[b, pos], encoder()[j])
        others = [t for t in range(len(row["input_ids"])) if t not in row["prompt_positions"]]
        assert torch.allclose(seen[b, others], words[b, others])
