"""Dieleman, Willett & Dambre (2015): the rotation-invariant CNN that won the Galaxy Challenge.

The 69×69 input (the central 207 px of a 424 px image, downsampled 3×) is seen from 16
viewpoints: the image and its 45° rotation, each also mirrored, give 4 images; from each, the
four overlapping corner parts (45/69 of the side) are cut and rotated so the galaxy centre sits
in the same corner. One convolution stack, shared by all 16 parts, sees each; the 16 feature
vectors are concatenated and go through two maxout dense layers to the outputs. The paper
puts the decision-tree output layer on top (``head="tree"``, :mod:`galaxyzoo.gz2.heads`).

Layers as in the paper: conv 6×6 (32) → pool 2 → conv 5×5 (64) → pool 2 → conv 3×3 (128) →
conv 3×3 (128) → pool 2; dense 4096 → maxout 2 (2048), twice, with dropout 0.5.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

PART_FRACTION = 45 / 69


class Maxout(nn.Module):
    def __init__(self, cin: int, units: int, pieces: int = 2):
        super().__init__()
        self.units, self.pieces = units, pieces
        self.linear = nn.Linear(cin, units * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).view(x.shape[0], self.units, self.pieces).amax(-1)


def _rotate45(x: torch.Tensor) -> torch.Tensor:
    """Rotate a batch by 45° about the centre (bilinear, zeros outside)."""
    c = s = math.sqrt(0.5)
    theta = torch.tensor([[c, -s, 0.0], [s, c, 0.0]], dtype=x.dtype, device=x.device).expand(x.shape[0], 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def viewpoints(x: torch.Tensor, part: int) -> torch.Tensor:
    """N×C×S×S → (16·N)×C×P×P: the 16 parts, viewpoint-major (view v of sample i at v·N + i)."""
    base = torch.cat([x, _rotate45(x)])
    base = torch.cat([base, base.flip(-1)])
    s = x.shape[-1]
    parts = [
        base[..., :part, :part],                             # top-left: centre at bottom-right
        base[..., :part, s - part:].rot90(1, (-2, -1)),      # top-right, turned to match
        base[..., s - part:, s - part:].rot90(2, (-2, -1)),  # bottom-right
        base[..., s - part:, :part].rot90(3, (-2, -1)),      # bottom-left
    ]
    return torch.cat(parts)


class DielemanNet(nn.Module):
    def __init__(self, num_outputs: int, in_chans: int, input_size: int, widths, hidden: int, dropout: float):
        super().__init__()
        self.part = round(PART_FRACTION * input_size)
        c1, c2, c3, c4 = widths
        self.features = nn.Sequential(
            nn.Conv2d(in_chans, c1, 6), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 5), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(c2, c3, 3), nn.ReLU(inplace=True),
            nn.Conv2d(c3, c4, 3), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Flatten(),
        )
        with torch.no_grad():
            try:
                per_view = self.features(torch.zeros(1, in_chans, self.part, self.part)).shape[1]
            except RuntimeError:
                raise ValueError(f"dieleman needs input_size >= 62 (parts of >= 40 px), got {input_size}") from None
        self.head = nn.Sequential(
            nn.Dropout(dropout), Maxout(16 * per_view, hidden),
            nn.Dropout(dropout), Maxout(hidden, hidden),
            nn.Dropout(dropout), nn.Linear(hidden, num_outputs),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        feats = self.features(viewpoints(x, self.part))           # (16·N)×F
        feats = feats.view(16, n, -1).transpose(0, 1).flatten(1)  # N×(16·F)
        return self.head(feats)


def build(num_outputs: int, in_chans: int = 3, input_size: int = 69, widths=(32, 64, 128, 128),
          hidden: int = 2048, dropout: float = 0.5) -> nn.Module:
    if len(widths) != 4:
        raise ValueError(f"dieleman: widths needs four convolution widths, got {widths!r}")
    return DielemanNet(num_outputs, in_chans, input_size, tuple(widths), hidden, dropout)
