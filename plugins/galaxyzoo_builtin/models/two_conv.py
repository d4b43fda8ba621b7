"""Sharma's two-convolution CNN.

conv3×3(16) → ReLU → BN → max-pool 2 → conv3×3(32) → ReLU → BN → avg-pool 2 → dense 32 →
ReLU → BN → dropout → outputs. The seed applies ReLU before BatchNorm; kept as written. Its
report does not give the dropout rate, so the default here is an assumption.
"""
from __future__ import annotations

import torch
from torch import nn


class TwoConvNet(nn.Module):
    def __init__(self, num_outputs: int, in_chans: int, input_size: int, hidden: int, dropout: float):
        super().__init__()
        side = ((input_size - 2) // 2 - 2) // 2
        if side < 1:
            raise ValueError(f"two_conv needs input_size >= 10, got {input_size}")
        self.features = nn.Sequential(
            nn.Conv2d(in_chans, 16, 3), nn.ReLU(inplace=True), nn.BatchNorm2d(16), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3), nn.ReLU(inplace=True), nn.BatchNorm2d(32), nn.AvgPool2d(2),
        )
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(32 * side * side, hidden), nn.ReLU(inplace=True), nn.BatchNorm1d(hidden),
            nn.Dropout(dropout),
            nn.Linear(hidden, num_outputs),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def build(
    num_outputs: int,
    in_chans: int = 3,
    input_size: int = 64,
    hidden: int = 32,
    dropout: float = 0.3,
) -> nn.Module:
    return TwoConvNet(num_outputs, in_chans, input_size, hidden, dropout)
