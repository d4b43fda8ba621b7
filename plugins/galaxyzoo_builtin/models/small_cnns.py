"""The plain CNNs of seeds 001, 002 and 003, layer for layer as their documents give them.

Keras' ``padding="valid"`` convolutions are kept, so each network has a smallest usable input;
the flattened width is found by running a dummy input through the features once at build time.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn


def _flat_width(features: nn.Module, in_chans: int, input_size: int, name: str) -> int:
    features.eval()  # one sample: BatchNorm must not compute batch statistics
    try:
        with torch.no_grad():
            return features(torch.zeros(1, in_chans, input_size, input_size)).numel()
    except RuntimeError:
        raise ValueError(f"{name}: input_size {input_size} is too small for its convolutions and poolings") from None
    finally:
        features.train()


class SequentialCNN(nn.Module):
    def __init__(self, features: nn.Sequential, head: nn.Sequential):
        super().__init__()
        self.features, self.head = features, head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def build_odd_cnn(num_outputs: int, in_chans: int = 3, input_size: int = 128, width: int = 8,
                  hidden: int = 16) -> nn.Module:
    """The Codecademy 'odd galaxies' project: conv3×3/2 (8) → max-pool 2 → conv3×3/2 (8) → max-pool 2 → dense 16 → outputs."""
    features = nn.Sequential(
        nn.Conv2d(in_chans, width, 3, stride=2), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        nn.Conv2d(width, width, 3, stride=2), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        nn.Flatten(),
    )
    flat = _flat_width(features, in_chans, input_size, "odd_cnn")
    return SequentialCNN(features, nn.Sequential(nn.Linear(flat, hidden), nn.ReLU(inplace=True),
                                                 nn.Linear(hidden, num_outputs)))


# Hildebrandt's report: (filters, kernel, pool) per layer; conv → ReLU → BN → max-pool as in its Keras code.
SEED002_LAYERS = ((32, 7, 2), (32, 7, 2), (64, 5, 2), (64, 5, 2), (128, 3, 1), (256, 3, 1))


def build_hildebrandt_cnn(num_outputs: int, in_chans: int = 1, input_size: int = 150,
                      dense: Sequence[int] = (512, 256), conv_dropout: float = 0.05,
                      dense_dropout: float = 0.15) -> nn.Module:
    """Hildebrandt's report: six conv layers with BN and max-pooling, dropout, dense 512-256, outputs."""
    layers: list[nn.Module] = []
    cin = in_chans
    for filters, kernel, pool in SEED002_LAYERS:
        layers += [nn.Conv2d(cin, filters, kernel), nn.ReLU(inplace=True), nn.BatchNorm2d(filters)]
        if pool > 1:  # the seed's 1×1 poolings are identities
            layers.append(nn.MaxPool2d(pool))
        cin = filters
    features = nn.Sequential(*layers, nn.Dropout(conv_dropout), nn.Flatten())
    width = _flat_width(features, in_chans, input_size, "hildebrandt_cnn")
    head: list[nn.Module] = []
    for units in dense:
        head += [nn.Linear(width, units), nn.ReLU(inplace=True), nn.Dropout(dense_dropout)]
        width = units
    head.append(nn.Linear(width, num_outputs))
    return SequentialCNN(features, nn.Sequential(*head))


# Serrano's four-conv variants ("first" and "second" share an architecture; the second
# trains on 250 px centre crops resized to 70, the first on whole images resized to 100).
SERRANO_VARIANTS = {
    "first": ((32, 64, 128, 128), (512,)),
    "second": ((32, 64, 128, 128), (512,)),
    "third": ((32, 96, 128, 128), (96, 64)),
}


def build_serrano_cnn(num_outputs: int, in_chans: int = 3, input_size: int = 70, variant: str = "second",
                      kernel: int = 3, dropout: float = 0.5) -> nn.Module:
    """Serrano's report: four conv3×3 + max-pool 2 blocks, dropout 0.5, dense layer(s), outputs.

    The document does not give the kernel size; 3×3 (Keras' usual) is an assumption.
    """
    if variant not in SERRANO_VARIANTS:
        raise ValueError(f"serrano_cnn: variant must be one of {sorted(SERRANO_VARIANTS)}, got {variant!r}")
    filters, dense = SERRANO_VARIANTS[variant]
    layers: list[nn.Module] = []
    cin = in_chans
    for f in filters:
        layers += [nn.Conv2d(cin, f, kernel), nn.ReLU(inplace=True), nn.MaxPool2d(2)]
        cin = f
    features = nn.Sequential(*layers, nn.Flatten())
    width = _flat_width(features, in_chans, input_size, "serrano_cnn")
    head: list[nn.Module] = [nn.Dropout(dropout)]
    for i, units in enumerate(dense):
        head += [nn.Linear(width, units), nn.ReLU(inplace=True)]
        if i < len(dense) - 1:
            head.append(nn.Dropout(dropout))
        width = units
    head.append(nn.Linear(width, num_outputs))
    return SequentialCNN(features, nn.Sequential(*head))
