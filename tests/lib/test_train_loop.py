import pytest
import torch

from nlpfactory.train.batching import collate, length_grouped_batches
from nlpfactory.train.config import TrainConfig
from nlpfactory.train.loop import fit


class Killed(Exception):
    pass


def _rows(n=48):
    g = torch.Generator().manual_seed(0)
    rows = []
    for i in range(n):
        length = 3 + i % 7
        ids = torch.randint(5, 50, (length,), generator=g).tolist()
        rows.append({"input_ids": ids, "token_type_ids": [0] * length, "labels": int(sum(ids) % 2)})
    return rows


class BagModel(torch.nn.Module):
    """Embedding bag + dropout: small, but with randomness the resume must reproduce."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(1)
        self.emb = torch.nn.Embedding(50, 16)
        self.drop = torch.nn.Dropout(0.3)
        self.out = torch.nn.Linear(16, 2)

    def forward(self, input_ids, attention_mask, **_):
        h = (self.emb(input_ids) * attention_mask[..., None]).sum(1) / attention_mask.sum(1, keepdim=True)
        return self.out(self.drop(h))


def _loss(model, batch):
    return torch.nn.functional.cross_entropy(model(**batch), batch["labels"])


def _dev_score(model):
    model.eval()
    with torch.no_grad():
        batch = collate(_rows())
        acc = (model(**batch).argmax(-1) == batch["labels"]).float().mean().item()
    return {"score": acc}


CFG = TrainConfig(epochs=3, batch_size=8, learning_rate=1e-2, checkpoint_every_steps=4, seed=3,
                  early_stopping_patience=0)


def test_killed_training_resumes_to_the_same_result(tmp_path):
    reference = BagModel()
    expected = fit(reference, _rows(), _loss, CFG, checkpoint_dir=tmp_path / "a", evaluate=_dev_score,
                   device=torch.device("cpu"))

    def kill_at_step_10(metrics, step):
        if step == 10 and "train_loss" in metrics:
            raise Killed  # the process dies; only what is on disk survives

    with pytest.raises(Killed):
        fit(BagModel(), _rows(), _loss, CFG, checkpoint_dir=tmp_path / "b", evaluate=_dev_score,
            on_metrics=kill_at_step_10, device=torch.device("cpu"))
    assert (tmp_path / "b" / "training_state.pt").is_file()

    resumed_model = BagModel()
    resumed = fit(resumed_model, _rows(), _loss, CFG, checkpoint_dir=tmp_path / "b", evaluate=_dev_score,
                  device=torch.device("cpu"))
    assert resumed.resumed_from_step == 8  # the last checkpoint before the kill
    assert resumed.history == expected.history
    for (name, a), b in zip(reference.state_dict().items(), resumed_model.state_dict().values()):
        assert torch.equal(a, b), name
    assert not (tmp_path / "b").exists()  # state removed once training finished


def test_best_epoch_weights_are_kept(tmp_path):
    scores = iter([0.5, 0.9, 0.1])
    seen = {}

    def evaluate(model):
        score = next(scores)
        seen[score] = {k: v.clone() for k, v in model.state_dict().items()}
        return {"score": score}

    model = BagModel()
    result = fit(model, _rows(), _loss, CFG, checkpoint_dir=tmp_path / "c", evaluate=evaluate,
                 device=torch.device("cpu"))
    assert result.best_epoch == 2 and result.best_score == 0.9
    for name, value in model.state_dict().items():
        assert torch.equal(value, seen[0.9][name])


def test_early_stopping_stops_after_patience(tmp_path):
    cfg = TrainConfig(epochs=10, batch_size=8, early_stopping_patience=2, checkpoint_every_steps=0)
    result = fit(BagModel(), _rows(), _loss, cfg, checkpoint_dir=tmp_path / "d",
                 evaluate=lambda m: {"score": 0.5}, device=torch.device("cpu"))
    assert len(result.history) == 3  # the first epoch sets the best, two more without a gain


def test_length_grouped_batches_cover_every_row_once_and_group_lengths():
    lengths = [i % 50 for i in range(1000)]
    batches = length_grouped_batches(lengths, 10, seed=0)
    assert sorted(i for b in batches for i in b) == list(range(1000))
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches) / len(batches)
    assert spread < 5  # random batches of 10 would spread over ~40
    assert batches == length_grouped_batches(lengths, 10, seed=0)
    assert batches != length_grouped_batches(lengths, 10, seed=1)


def test_collate_pads_to_the_longest_row_of_the_batch():
    batch = collate([{"input_ids": [1, 2, 3], "labels": 1}, {"input_ids": [4], "labels": 0}], pad_id=0)
    assert batch["input_ids"].tolist() == [[1, 2, 3], [4, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["labels"].tolist() == [1, 0]


def test_config_refuses_nonsense():
    with pytest.raises(ValueError, match="batch_size"):
        TrainConfig(batch_size=0)
    with pytest.raises(ValueError, match="warmup_ratio"):
        TrainConfig(warmup_ratio=1.5)
