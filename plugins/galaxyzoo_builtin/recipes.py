"""Built-in recipes, registered through the `galaxyzoo` entry-point group."""
from __future__ import annotations

from galaxyzoo import RecipeSpec, hookimpl

_CLASS_METRICS = ("accuracy", "balanced_accuracy", "roc_auc_ovr", "confusion_matrix")
_VOTE_METRICS = ("rmse", "rmse_per_question")


@hookimpl
def galaxyzoo_recipes():
    return [
        RecipeSpec(
            # Measured on 2 CPU cores: see README ("make demo").
            name="default",
            summary="resnet_small on synthetic galaxies, 64 px central ROI crops, rotation+flip; `make demo`",
            dataset="synthetic",
            model="resnet_small",
            input_size=64,
            epochs=6,
            batch_size=64,
            preprocess={"mode": "central"},
            augment={"rotate": True, "flip": True},
            optimizer="adamw",
            lr=3e-3,
            weight_decay=5e-4,
            schedule="cosine",
            metrics=_CLASS_METRICS,
        ),
        RecipeSpec(
            # Train with --root ../shared/data/gz2_sample (80% of its labels are non_spiral,
            # hence the class-balanced loss and balanced accuracy as the selecting metric).
            name="gz2_sample_spiral",
            summary="resnet_small on real GZ2 JPEGs, spiral vs non_spiral, class-balanced loss",
            dataset="gz2_sample",
            model="resnet_small",
            input_size=64,
            epochs=15,
            batch_size=64,
            preprocess={"mode": "central"},
            augment={"rotate": True, "flip": True},
            optimizer="adamw",
            lr=3e-3,
            weight_decay=5e-4,
            schedule="cosine",
            loss="balanced",
            metrics=("balanced_accuracy", "accuracy", "roc_auc_ovr", "confusion_matrix"),
            reference="../shared/data/gz2_sample/README.md",
            reported="source project's 4-conv CNN: ~81% balanced validation accuracy",
        ),
        RecipeSpec(
            name="seed000_dense",
            summary="Seed 000: dense 12288-512-512-512-4 network on whole 64 px GalaxyMNIST images, Adam",
            dataset="galaxy_mnist",
            model="dense_mlp",
            input_size=64,
            epochs=50,
            batch_size=1000,
            preprocess={"mode": None},
            optimizer="adam",
            lr=0.0015,
            schedule="constant",
            metrics=_CLASS_METRICS,
            reference="seed 000 (GalaxyMNIST hack session, Keras)",
            reported="70% test accuracy on GalaxyMNIST",
        ),
        RecipeSpec(
            name="seed004_two_conv",
            summary="Seed 004: two-conv CNN regressing the 37 GZ2 vote fractions (sigmoid + MSE), Adam",
            dataset="gz2_kaggle",
            model="two_conv",
            input_size=64,
            epochs=200,
            batch_size=1024,
            preprocess={"mode": None},
            optimizer="adam",
            lr=1e-3,
            schedule="constant",
            metrics=_VOTE_METRICS,
            reference="seed 004 (GWU DATS6203 report, PyTorch)",
            reported="learning only at batch 1024, lr 0.001; no test RMSE given",
        ),
    ]
