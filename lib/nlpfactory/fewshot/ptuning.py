"""P-Tuning's prompt encoder: pseudo tokens h_1..h_m = MLP([LSTM-> ; LSTM<-](E_p)).

E_p are m learned embeddings; a 2-layer bidirectional LSTM (d per direction) reads them and
Linear(2d -> d) - ReLU - Linear(d -> d) maps its output to the model's embedding size. The
`mlp` kind drops the LSTM (Linear(d -> d) - ReLU - Linear(d -> d)). The encoder's output does
not depend on the input text, so a trained model keeps only the m vectors it produces.
"""

from __future__ import annotations

import torch
from torch import nn

ENCODERS = ("lstm", "mlp")


class PromptEncoder(nn.Module):
    def __init__(self, length: int, dim: int, kind: str = "lstm"):
        super().__init__()
        if kind not in ENCODERS:
            raise ValueError(f"prompt encoder {kind!r}: choose one of {ENCODERS}")
        self.embeddings = nn.Parameter(torch.randn(length, dim) * 0.02)
        self.lstm = nn.LSTM(dim, dim, num_layers=2, bidirectional=True, batch_first=True) if kind == "lstm" else None
        width = 2 * dim if self.lstm is not None else dim
        self.mlp = nn.Sequential(nn.Linear(width, dim), nn.ReLU(), nn.Linear(dim, dim))

    def forward(self) -> torch.Tensor:
        """The pseudo-token vectors (m, d)."""
        x = self.embeddings
        if self.lstm is not None:
            x = self.lstm(x.unsqueeze(0))[0].squeeze(0)
        return self.mlp(x)
