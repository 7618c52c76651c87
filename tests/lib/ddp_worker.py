"""What the torchrun workers of test_distributed.py run (imported by name in each process)."""

from __future__ import annotations

import torch

from nlpfactory.train.batching import collate
from nlpfactory.train.config import TrainConfig
from nlpfactory.train.loop import fit


class Killed(Exception):
    pass


def rows(n: int = 45) -> list[dict]:
    g = torch.Generator().manual_seed(0)
    out = []
    for i in range(n):
        length = 3 + i % 7
        ids = torch.randint(5, 50, (length,), generator=g).tolist()
        out.append({"input_ids": ids, "token_type_ids": [0] * length, "labels": int(sum(ids) % 2)})
    return out


class BagModel(torch.nn.Module):
    """No dropout: 1 and 2 processes must then compute the same gradients (up to float
    summation order), which is what the test holds them to."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(1)
        self.emb = torch.nn.Embedding(50, 16)
        self.out = torch.nn.Linear(16, 2)

    def forward(self, input_ids, attention_mask, **_):
        h = (self.emb(input_ids) * attention_mask[..., None]).sum(1) / attention_mask.sum(1, keepdim=True)
        return self.out(h)


def _loss(model, batch):
    return torch.nn.functional.cross_entropy(model(**batch), batch["labels"])


def _dev(model):
    model.eval()
    with torch.no_grad():
        batch = collate(rows())
        return {"score": (model(**batch).argmax(-1) == batch["labels"]).float().mean().item()}


def train(checkpoint_dir: str, kill_at_step: int = 0) -> dict:
    """Train BagModel; returns its weights, dev history and step count (rank 0's)."""
    # batch 7 over 2 ranks: shares of 4 and 3 rows, and a last batch of 3 (45 = 6*7 + 3).
    # fp32: bf16 rounds each share's activations differently, which the tolerance is not for.
    cfg = TrainConfig(epochs=3, batch_size=7, learning_rate=1e-2, checkpoint_every_steps=4, seed=3,
                      early_stopping_patience=0, precision="fp32")

    def on_metrics(metrics, step):
        if step == kill_at_step:
            raise Killed(f"killed at step {step}")

    model = BagModel()
    result = fit(model, rows(), _loss, cfg, checkpoint_dir=checkpoint_dir, evaluate=_dev,
                 on_metrics=on_metrics, device=torch.device("cpu"))
    return {"weights": {k: v.clone() for k, v in model.state_dict().items()},
            "history": result.history, "steps": result.steps, "resumed_from": result.resumed_from_step}


def who_am_i() -> dict:
    """What a job's rank 0 sees of its world."""
    from nlpfactory.train import distributed

    return {"world_size": distributed.world_size(), "rank": distributed.rank()}
