"""Built-in models, registered through the `galaxyzoo` entry-point group."""
from __future__ import annotations

from galaxyzoo import ModelSpec, hookimpl


@hookimpl
def galaxyzoo_models():
    return [
        ModelSpec(
            name="resnet_small",
            summary="Small ResNet (3 stages of BN residual blocks, global pooling, ~0.3 M params); the default",
            builder="galaxyzoo_builtin.models.resnet:build",
            input_size=64,
            reference="He et al. 2016, https://arxiv.org/abs/1512.03385",
            defaults={"widths": (32, 64, 128), "depths": (1, 1, 1), "dropout": 0.1},
        ),
        ModelSpec(
            name="vgg_small",
            summary="Plain VGG-style CNN (3×3 conv-BN-ReLU stages 16-128 wide, max pooling, global pooling, "
                    "~0.28 M params); full-resolution first stage",
            builder="galaxyzoo_builtin.models.vgg_small:build",
            input_size=64,
            reference="Simonyan & Zisserman 2015, https://arxiv.org/abs/1409.1556 (scaled down)",
            defaults={"widths": (16, 32, 64, 128), "depths": (1, 1, 2, 2), "dropout": 0.3},
        ),
        ModelSpec(
            name="convnext_cpu",
            summary="ConvNeXt sized for CPU budgets (24-192 wide, 1-1-3-1 blocks, 0.7 M params): patchify "
                    "stem, 7×7 depthwise blocks with LayerNorm, inverted-bottleneck MLP, layer scale, "
                    "stochastic depth",
            builder="galaxyzoo_builtin.models.convnext:build",
            input_size=64,
            reference="Liu et al. 2022, A ConvNet for the 2020s, https://arxiv.org/abs/2201.03545",
            # ~9 M multiply-adds and 0.68 M parameters at 64 px (resnet_small: 49 M, 0.31 M); the
            # fastest of the configurations measured against resnet_small on a 2-core CPU.
            defaults={"dims": (24, 48, 96, 192), "depths": (1, 1, 3, 1), "stem_stride": None,
                      "drop_path": 0.05, "dropout": 0.0},
        ),
        ModelSpec(
            name="convnext_nano",
            summary="ConvNeXt-Nano widths and depths (80-640, 2-2-8-2, ~15 M params) for GPUs",
            builder="galaxyzoo_builtin.models.convnext:build_nano",
            input_size=128,
            reference="Liu et al. 2022, https://arxiv.org/abs/2201.03545; nano config as in "
                      "ConvNeXt V2 (Woo et al. 2023, https://arxiv.org/abs/2301.00808)",
            defaults={"dims": (80, 160, 320, 640), "depths": (2, 2, 8, 2), "stem_stride": None,
                      "drop_path": 0.1, "dropout": 0.0},
        ),
        ModelSpec(
            name="dense_mlp",
            summary="The GalaxyMNIST tutorial's dense network: flatten, 3×512 ReLU layers with dropout 0.2",
            builder="galaxyzoo_builtin.models.dense:build",
            input_size=64,
            reference="the GalaxyMNIST dense-network tutorial (GalaxyMNIST, 70% test accuracy)",
            defaults={"hidden": 512, "depth": 3, "dropout": 0.2},
        ),
        ModelSpec(
            name="two_conv",
            summary="Sharma's CNN: two 3×3 conv layers with BN, max/avg pooling, dense 32",
            builder="galaxyzoo_builtin.models.two_conv:build",
            input_size=64,
            reference="Sharma's report (GZ2 vote fractions, Adam, MSE)",
            defaults={"hidden": 32, "dropout": 0.3},
        ),
        ModelSpec(
            name="odd_cnn",
            summary="The Codecademy project's tiny CNN: two stride-2 3×3 convs (8) each with max pooling, dense 16",
            builder="galaxyzoo_builtin.models.small_cnns:build_odd_cnn",
            input_size=128,
            reference="the Codecademy 'odd galaxies' project (Codecademy 'odd galaxies', Keras)",
            defaults={"width": 8, "hidden": 16},
        ),
        ModelSpec(
            name="hildebrandt_cnn",
            aliases=("seed002_cnn",),
            summary="Hildebrandt's CNN: six conv layers (7,7,5,5,3,3) with BN and max pooling, dense 512-256",
            builder="galaxyzoo_builtin.models.small_cnns:build_hildebrandt_cnn",
            input_size=150,
            in_chans=1,
            reference="Hildebrandt's report (GZ2 Kaggle data, Keras; 150 px grayscale ROI crops)",
            defaults={"dense": (512, 256), "conv_dropout": 0.05, "dense_dropout": 0.15},
        ),
        ModelSpec(
            name="serrano_cnn",
            aliases=("seed003_cnn",),
            summary="Serrano's four conv + max-pool blocks, dropout 0.5, dense head (variant first|second|third)",
            builder="galaxyzoo_builtin.models.small_cnns:build_serrano_cnn",
            input_size=70,
            reference="Serrano's report (GZ2 vote fractions, Keras, Adamax)",
            defaults={"variant": "second", "kernel": 3, "dropout": 0.5},
        ),
        ModelSpec(
            name="resnet",
            summary="ImageNet-layout ResNet-18/34/50 with Serrano's new head; weights=FILE.safetensors or from scratch",
            builder="galaxyzoo_builtin.models.resnet_imagenet:build",
            input_size=70,
            reference="He et al. 2016; Serrano's pretrained-ResNet approach (RMSE 0.1161)",
            defaults={"depth": 50, "hidden": 512, "dropout": 0.5, "weights": None},
        ),
        ModelSpec(
            name="dieleman",
            summary="Dieleman et al. 2015: 16 rotated/flipped viewpoints through shared convs, maxout dense layers",
            builder="galaxyzoo_builtin.models.dieleman:build",
            input_size=69,
            reference="Dieleman, Willett & Dambre 2015, MNRAS 450, 1441, https://arxiv.org/abs/1503.07077",
            defaults={"widths": (32, 64, 128, 128), "hidden": 2048, "dropout": 0.5},
        ),
        ModelSpec(
            name="central_pixel_linreg",
            summary="Hildebrandt's baseline: linear regression of the vote fractions on the central pixel's RGB",
            builder="galaxyzoo_builtin.models.baselines:build_central_pixel",
            input_size=8,
            tasks=("vote_fractions",),
            reference="Hildebrandt's report (seed 002): RMSE 0.1577 on the Kaggle data",
        ),
        ModelSpec(
            name="mean_pixel_linreg",
            summary="Hildebrandt's baseline: linear regression of the vote fractions on the mean RGB colour",
            builder="galaxyzoo_builtin.models.baselines:build_mean_pixel",
            input_size=64,
            tasks=("vote_fractions",),
            reference="Hildebrandt's report (seed 002): RMSE 0.1597 on the Kaggle data",
        ),
        ModelSpec(
            name="mean_vote",
            summary="Hildebrandt's baseline: the training set's mean vote fractions for every image",
            builder="galaxyzoo_builtin.models.baselines:build_mean_vote",
            input_size=64,
            tasks=("vote_fractions",),
            reference="Hildebrandt's report (seed 002): RMSE 0.1639 on the Kaggle data",
        ),
    ]

