"""Built-in models, registered through the `galaxyzoo` entry-point group."""
from __future__ import annotations

from galaxyzoo import ModelSpec, hookimpl


@hookimpl
def galaxyzoo_models():
    return [
        ModelSpec(
            name="resnet_small",
            summary="Small ResNet (3 stages of BN residual blocks, global pooling, ~0.3 M params); the default",
            builder="galaxyzoo_builtin.nets.resnet:build",
            input_size=64,
            reference="He et al. 2016, https://arxiv.org/abs/1512.03385",
            defaults={"widths": (32, 64, 128), "depths": (1, 1, 1), "dropout": 0.1},
        ),
        ModelSpec(
            name="dense_mlp",
            summary="Seed 000's dense network: flatten, 3×512 ReLU layers with dropout 0.2",
            builder="galaxyzoo_builtin.nets.dense:build",
            input_size=64,
            reference="seed 000 (GalaxyMNIST, 70% test accuracy)",
            defaults={"hidden": 512, "depth": 3, "dropout": 0.2},
        ),
        ModelSpec(
            name="two_conv",
            summary="Seed 004's CNN: two 3×3 conv layers with BN, max/avg pooling, dense 32",
            builder="galaxyzoo_builtin.nets.two_conv:build",
            input_size=64,
            reference="seed 004 (GZ2 vote fractions, Adam, MSE)",
            defaults={"hidden": 32, "dropout": 0.3},
        ),
    ]
