"""A small ResNet for 48–96 px galaxy crops, sized to train in minutes on a CPU.

A stride-2 stem, three stages of basic residual blocks (BN, ReLU) that halve the resolution and
double the width, global average pooling and a linear head. The last BN of every block starts at
zero so each block begins as the identity (Goyal et al. 2017), which makes the short CPU
schedules converge reliably.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn


def _conv_bn(cin: int, cout: int, kernel: int, stride: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False), nn.BatchNorm2d(cout)]


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(
            *_conv_bn(cin, cout, 3, stride), nn.ReLU(inplace=True), *_conv_bn(cout, cout, 3, 1)
        )
        nn.init.zeros_(self.body[-1].weight)
        self.shortcut = (
            nn.Identity() if stride == 1 and cin == cout else nn.Sequential(*_conv_bn(cin, cout, 1, stride))
        )
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.shortcut(x))


class ResNetSmall(nn.Module):
    def __init__(
        self, num_outputs: int, in_chans: int, widths: Sequence[int], depths: Sequence[int], dropout: float
    ):
        super().__init__()
        if len(widths) != len(depths) or not widths:
            raise ValueError("resnet_small: widths and depths must be non-empty and of equal length")
        self.stem = nn.Sequential(*_conv_bn(in_chans, widths[0], 3, 2), nn.ReLU(inplace=True))
        blocks: list[nn.Module] = []
        cin = widths[0]
        for stage, (width, depth) in enumerate(zip(widths, depths)):
            for i in range(depth):
                blocks.append(BasicBlock(cin, width, 2 if stage > 0 and i == 0 else 1))
                cin = width
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(cin, num_outputs)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)))


def build(
    num_outputs: int,
    in_chans: int = 3,
    input_size: int = 64,
    widths: Sequence[int] = (32, 64, 128),
    depths: Sequence[int] = (1, 1, 1),
    dropout: float = 0.1,
) -> nn.Module:
    # Global pooling makes the network independent of input_size.
    del input_size
    return ResNetSmall(num_outputs, in_chans, tuple(widths), tuple(depths), dropout)
