"""ConvNeXt (Liu et al. 2022) sized for galaxy crops: a modern all-convolutional default.

A patchify stem (4×4 convolution with stride 4, or stride 2 below 64 px input so the first
stage keeps at least 16 px), then stages of ConvNeXt blocks with LayerNorm + 2×2 stride-2
convolutions between them, global average pooling, LayerNorm and a linear head. A block is a
7×7 depthwise convolution, LayerNorm over channels, an inverted-bottleneck MLP (×``mlp_ratio``,
GELU), a learnable per-channel layer scale and stochastic depth on the residual branch. The
norm and the MLP run on the channels-last view (``permute(0, 2, 3, 1)``), which is a free
reshape when the batch is in ``torch.channels_last`` memory, as the training loader delivers
it. No BatchNorm, so eval outputs never depend on the rest of the batch.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an N×C×H×W tensor."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


def drop_path(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Zero whole samples of a residual branch with probability ``p``, rescaling the rest."""
    if p == 0.0 or not training:
        return x
    keep = torch.empty((x.shape[0],) + (1,) * (x.ndim - 1), dtype=x.dtype, device=x.device)
    return x * keep.bernoulli_(1.0 - p).div_(1.0 - p)


class Block(nn.Module):
    def __init__(self, dim: int, mlp_ratio: int, layer_scale: float, drop_path: float):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.fc1 = nn.Linear(dim, mlp_ratio * dim)
        self.fc2 = nn.Linear(mlp_ratio * dim, dim)
        self.gamma = nn.Parameter(torch.full((dim,), float(layer_scale)))
        self.drop_path = drop_path

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dwconv(x).permute(0, 2, 3, 1)  # N×H×W×C: the norm and MLP act per pixel
        y = self.fc2(F.gelu(self.fc1(self.norm(y)))) * self.gamma
        return x + drop_path(y.permute(0, 3, 1, 2), self.drop_path, self.training)


class ConvNeXt(nn.Module):
    def __init__(self, num_outputs: int, in_chans: int, stem_stride: int, dims: Sequence[int],
                 depths: Sequence[int], mlp_ratio: int, layer_scale: float, drop_path: float,
                 dropout: float):
        super().__init__()
        # A 4×4 patchify convolution: non-overlapping at stride 4, overlapping by half at 2.
        self.stem = nn.Sequential(nn.Conv2d(in_chans, dims[0], 4, stem_stride, (4 - stem_stride) // 2),
                                  LayerNorm2d(dims[0], eps=1e-6))
        # Stochastic depth grows linearly from 0 at the first block to drop_path at the last.
        rates = torch.linspace(0.0, drop_path, sum(depths)).tolist()
        stages: list[nn.Module] = []
        for i, (dim, depth) in enumerate(zip(dims, depths)):
            down = [] if i == 0 else [LayerNorm2d(dims[i - 1], eps=1e-6),
                                      nn.Conv2d(dims[i - 1], dim, 2, 2)]
            blocks = [Block(dim, mlp_ratio, layer_scale, rates.pop(0)) for _ in range(depth)]
            stages.append(nn.Sequential(*down, *blocks))
        self.stages = nn.Sequential(*stages)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.LayerNorm(dims[-1], eps=1e-6),
                                  nn.Dropout(dropout), nn.Linear(dims[-1], num_outputs))
        self.apply(_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))


def _init(m: nn.Module) -> None:
    if isinstance(m, (nn.Conv2d, nn.Linear)):
        nn.init.trunc_normal_(m.weight, std=0.02)
        nn.init.zeros_(m.bias)


def build(
    num_outputs: int,
    in_chans: int = 3,
    input_size: int = 64,
    dims: Sequence[int] = (24, 48, 96, 192),
    depths: Sequence[int] = (1, 1, 3, 1),
    stem_stride: int | None = None,
    mlp_ratio: int = 4,
    layer_scale: float = 1e-6,
    drop_path: float = 0.05,
    dropout: float = 0.0,
) -> nn.Module:
    """The CPU-sized ``convnext_cpu``; ``stem_stride`` None picks 2 below 64 px input and 4 from 64 px; the input must keep at
    least one pixel through the stem and the ``len(dims) − 1`` halvings."""
    dims, depths = tuple(int(d) for d in dims), tuple(int(d) for d in depths)
    if not dims or len(dims) != len(depths) or min(dims) < 1 or min(depths) < 1:
        raise ValueError(f"convnext: dims and depths must be non-empty, positive and of equal "
                         f"length, got dims={dims}, depths={depths}")
    if stem_stride is None:
        stem_stride = 2 if input_size < 64 else 4
    if stem_stride not in (2, 4):
        raise ValueError(f"convnext: stem_stride must be 2 or 4, got {stem_stride!r}")
    reduction = stem_stride * 2 ** (len(dims) - 1)
    if input_size < reduction:
        raise ValueError(f"convnext: input_size {input_size} is below the network's total stride "
                         f"{reduction} (stem {stem_stride}, {len(dims)} stages)")
    if not 0.0 <= drop_path < 1.0 or not 0.0 <= dropout < 1.0:
        raise ValueError(f"convnext: drop_path and dropout must be in [0, 1), got {drop_path}, {dropout}")
    # Global pooling makes the network independent of input_size beyond the check above.
    return ConvNeXt(num_outputs, in_chans, stem_stride, dims, depths, int(mlp_ratio),
                    float(layer_scale), float(drop_path), float(dropout))


def build_nano(
    num_outputs: int,
    in_chans: int = 3,
    input_size: int = 128,
    dims: Sequence[int] = (80, 160, 320, 640),
    depths: Sequence[int] = (2, 2, 8, 2),
    stem_stride: int | None = None,
    mlp_ratio: int = 4,
    layer_scale: float = 1e-6,
    drop_path: float = 0.1,
    dropout: float = 0.0,
) -> nn.Module:
    """``convnext_nano``: :func:`build` with ConvNeXt-Nano's widths and depths, for GPUs."""
    return build(num_outputs, in_chans, input_size, dims, depths, stem_stride, mlp_ratio,
                 layer_scale, drop_path, dropout)
