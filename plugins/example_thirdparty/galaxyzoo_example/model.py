"""A deliberately tiny CNN: enough to learn rings from disks in a few seconds on a CPU.

No batch norm: with a few dozen optimiser steps its running statistics lag far behind the
weights, and the model that scores perfectly in training mode guesses in eval mode.
"""
from __future__ import annotations

from torch import nn


def build_tinycnn(num_outputs: int, in_chans: int = 3, input_size: int = 32, width: int = 16) -> nn.Module:
    # Global pooling makes the network independent of input_size.
    del input_size
    return nn.Sequential(
        nn.Conv2d(in_chans, width, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
        nn.Conv2d(width, 2 * width, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(2 * width, num_outputs),
    )
