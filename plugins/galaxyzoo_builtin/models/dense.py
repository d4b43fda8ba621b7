"""The GalaxyMNIST tutorial's fully connected network: flatten, three ReLU layers of 512 with dropout 0.2."""
from __future__ import annotations

from torch import nn


def build(
    num_outputs: int,
    in_chans: int = 3,
    input_size: int = 64,
    hidden: int = 512,
    depth: int = 3,
    dropout: float = 0.2,
) -> nn.Module:
    layers: list[nn.Module] = [nn.Flatten()]
    width = in_chans * input_size * input_size
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout)]
        width = hidden
    layers.append(nn.Linear(width, num_outputs))
    return nn.Sequential(*layers)
