"""A plain VGG-style CNN: 3×3 conv + BN + ReLU stages with max pooling, global average pooling.

No residuals and no stride-2 stem: at 64 px the first stage sees full resolution, which keeps
thin features such as spiral arms that a stride-2 stem blurs, at a cost (~38 M multiply-adds
at 64 px with the default widths) close to ``resnet_small``'s.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn


def _conv(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class VGGSmall(nn.Module):
    def __init__(self, num_outputs: int, in_chans: int, widths: Sequence[int], depths: Sequence[int],
                 dropout: float):
        super().__init__()
        if len(widths) != len(depths) or not widths or min(depths) < 1:
            raise ValueError("vgg_small: widths and depths must be non-empty, of equal length, depths >= 1")
        layers: list[nn.Module] = []
        cin = in_chans
        for stage, (width, depth) in enumerate(zip(widths, depths)):
            if stage > 0:
                layers.append(nn.MaxPool2d(2))
            for _ in range(depth):
                layers += _conv(cin, width)
                cin = width
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(cin, num_outputs)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def build(
    num_outputs: int,
    in_chans: int = 3,
    input_size: int = 64,
    widths: Sequence[int] = (16, 32, 64, 128),
    depths: Sequence[int] = (1, 1, 2, 2),
    dropout: float = 0.3,
) -> nn.Module:
    # Global pooling makes the network independent of input_size.
    del input_size
    return VGGSmall(num_outputs, in_chans, tuple(widths), tuple(depths), dropout)
