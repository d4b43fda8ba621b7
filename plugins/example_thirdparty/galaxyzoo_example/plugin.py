"""The hooks galaxyzoo calls. Specs only: the builders are imported when something is built."""
from __future__ import annotations

from galaxyzoo.plugin_api import DatasetSpec, MetricSpec, ModelSpec, RecipeSpec, Task, hookimpl

RING_TASK = Task("classification", ("ring", "no_ring"))


@hookimpl
def galaxyzoo_models():
    return [
        ModelSpec(
            name="example_tinycnn",
            summary="Example plugin: two conv layers, global average pooling, linear head",
            builder="galaxyzoo_example.model:build_tinycnn",
            input_size=32,
            defaults={"width": 16},
        )
    ]


@hookimpl
def galaxyzoo_datasets():
    return [
        DatasetSpec(
            name="example_rings",
            summary="Example plugin: synthetic 64 px galaxies with or without a ring, by seed",
            builder="galaxyzoo_example.dataset:RingGalaxies",
            task=RING_TASK,
            image_size=64,
            defaults={"size": 64, "seed": 0},
        )
    ]


@hookimpl
def galaxyzoo_metrics():
    return [
        MetricSpec(
            name="example_macro_f1",
            summary="Example plugin: mean of the per-class F1 scores",
            fn="galaxyzoo_example.metric:macro_f1",
            tasks=("classification",),
        )
    ]


@hookimpl
def galaxyzoo_recipes():
    return [
        RecipeSpec(
            name="example_rings_tinycnn",
            summary="Example plugin: the tiny CNN on ring galaxies, whole image at 32 px, 3 epochs",
            dataset="example_rings",
            model="example_tinycnn",
            input_size=32,
            epochs=3,
            batch_size=16,
            preprocess={"mode": "none"},  # the whole image, as the CLI's --roi none
            augment={"flip": True},
            optimizer="adamw",
            lr=1e-2,
            schedule="cosine",
            metrics=("accuracy", "example_macro_f1"),
            reference="galaxyzoo's plugins/example_thirdparty (an example, not a published method)",
            reported="about 0.9 validation accuracy after 2 epochs on 256 images (tests/test_example_plugin.py)",
        )
    ]
