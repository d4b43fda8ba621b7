"""ImageNet-layout ResNet-18/34/50 with a new head (Serrano's transfer-learning model).

Serrano's report used a Keras ResNet pretrained on ImageNet, then global average pooling, dense 512
(ReLU), dropout 0.5 and the outputs. Nothing is downloaded here: ``weights`` names a local
safetensors file whose tensors follow torchvision's ResNet names (``conv1.weight``,
``layer1.0.bn1.running_mean``, ...), e.g. a torchvision ``resnet50`` state dict saved with
``safetensors.torch.save_file``; its ``fc.*`` classifier is ignored. Without ``weights`` the
network trains from scratch, and says so.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn

# depth → (block kind, blocks per stage)
LAYOUTS = {18: ("basic", (2, 2, 2, 2)), 34: ("basic", (3, 4, 6, 3)), 50: ("bottleneck", (3, 4, 6, 3))}


class Basic(nn.Module):
    expansion = 1

    def __init__(self, cin: int, width: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, width, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _downsample(cin, width, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin: int, width: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, width * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(width * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _downsample(cin, width * 4, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


def _downsample(cin: int, cout: int, stride: int) -> nn.Module | None:
    if stride == 1 and cin == cout:
        return None
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))


class ResNet(nn.Module):
    def __init__(self, num_outputs: int, in_chans: int, depth: int, hidden: int, dropout: float):
        super().__init__()
        if depth not in LAYOUTS:
            raise ValueError(f"resnet: depth must be one of {sorted(LAYOUTS)}, got {depth!r}")
        kind, blocks = LAYOUTS[depth]
        block = Basic if kind == "basic" else Bottleneck
        self.conv1 = nn.Conv2d(in_chans, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = 64
        for i, (width, count) in enumerate(zip((64, 128, 256, 512), blocks)):
            stage = []
            for j in range(count):
                stage.append(block(cin, width, 2 if i > 0 and j == 0 else 1))
                cin = width * block.expansion
            setattr(self, f"layer{i + 1}", nn.Sequential(*stage))
        # The new head replaces ImageNet's fc: pool, dense 512 ReLU, dropout, outputs.
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, hidden),
                                  nn.ReLU(inplace=True), nn.Dropout(dropout), nn.Linear(hidden, num_outputs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.head(x)


def load_backbone(model: nn.Module, path: str | Path) -> None:
    """Copy a safetensors file's backbone tensors into ``model`` (every one must fit)."""
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"resnet: weights file {path} does not exist (nothing is downloaded)")
    tensors = {k: v for k, v in load_file(str(path)).items() if not k.startswith(("fc.", "head."))}
    own = model.state_dict()
    backbone = {k for k in own if not k.startswith("head.")}
    missing = sorted(backbone - tensors.keys())
    unexpected = sorted(tensors.keys() - backbone)
    wrong = sorted(k for k in tensors.keys() & backbone if tensors[k].shape != own[k].shape)
    if missing or unexpected or wrong:
        raise ValueError(f"resnet: {path} does not fit this backbone: missing {missing[:3]}, "
                         f"unexpected {unexpected[:3]}, wrong shape {wrong[:3]} (depth or in_chans differ?)")
    model.load_state_dict(tensors, strict=False)


def build(num_outputs: int, in_chans: int = 3, input_size: int = 70, depth: int = 50, hidden: int = 512,
          dropout: float = 0.5, weights: str | None = None) -> nn.Module:
    del input_size  # global pooling: any size from 32 px up
    model = ResNet(num_outputs, in_chans, depth, hidden, dropout)
    if weights:
        load_backbone(model, weights)
    else:
        warnings.warn("resnet: no weights file given, training from scratch (Serrano's report started from "
                      "ImageNet weights; pass weights=PATH.safetensors to do the same)", stacklevel=2)
    return model
