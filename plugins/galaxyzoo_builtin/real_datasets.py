"""Specs of the real-data readers (local files only), for the built-in ``galaxyzoo_datasets`` hook.

Nothing here imports reader code: builders are ``"module:function"`` strings.
"""
from __future__ import annotations

from galaxyzoo.gz2.tree import COLUMNS
from galaxyzoo.specs import DatasetSpec, Task

from .readers import known

_READERS = "galaxyzoo_builtin.readers"
_WITH_UNLABELED = ("train", "val", "test", "unlabeled")

REAL_DATASETS: list[DatasetSpec] = [
    DatasetSpec(
        name="catalog",
        summary="Any folder of images plus a CSV catalog (labels or vote fractions, optional split column)",
        builder=f"{_READERS}.catalog:open_catalog",
        task=None,  # the classes (or vote-fraction columns) come from the catalog and options
        splits=(),  # the catalog's split column names the splits
        layout=known.CATALOG_LAYOUT,
    ),
    DatasetSpec(
        name="gz2_sample",
        summary="6,904 real GZ2 JPEGs: spiral vs non_spiral, fixed train/val/test + unlabeled",
        builder=f"{_READERS}.catalog:open_catalog",
        task=Task("classification", known.GZ2_SAMPLE_CLASSES),
        image_size=424,
        splits=_WITH_UNLABELED,
        layout=known.GZ2_SAMPLE_LAYOUT,
        reference="../shared/data/gz2_sample/README.md (images from isi-mube/Cosmic-Compendium)",
        defaults={"name": "gz2_sample", "classes": known.GZ2_SAMPLE_CLASSES, "layout": known.GZ2_SAMPLE_LAYOUT},
    ),
    DatasetSpec(
        name="gz2_kaggle",
        summary="Kaggle Galaxy Challenge: 61,578 JPEGs with 37 GZ2 vote fractions, plus the unlabelled test images",
        builder=f"{_READERS}.gz2_kaggle:open_gz2_kaggle",
        task=Task("vote_fractions", COLUMNS),
        image_size=424,
        splits=_WITH_UNLABELED,
        layout=known.GZ2_KAGGLE_LAYOUT,
        reference="https://www.kaggle.com/c/galaxy-zoo-the-galaxy-challenge",
    ),
    DatasetSpec(
        name="galaxy_mnist",
        summary="GalaxyMNIST: 10,000 galaxies, 4 classes, 64x64 (224x224 with highrez=True)",
        builder=f"{_READERS}.galaxy_mnist:open_galaxy_mnist",
        task=Task("classification", known.GALAXY_MNIST_CLASSES),
        image_size=64,
        layout=known.GALAXY_MNIST_LAYOUT,
        reference="https://github.com/mwalmsley/galaxy_mnist",
    ),
    DatasetSpec(
        name="galaxy10",
        summary="Galaxy10 DECaLS: 17,736 galaxies, 10 classes, 256x256",
        builder=f"{_READERS}.galaxy10:open_galaxy10",
        task=Task("classification", known.GALAXY10_DECALS_CLASSES),
        image_size=256,
        layout=known.galaxy10_layout("decals"),
        reference="https://github.com/henrysky/Galaxy10",
        defaults={"variant": "decals"},
    ),
    DatasetSpec(
        name="galaxy10_sdss",
        summary="Galaxy10 SDSS (the original): 21,785 galaxies, 10 classes, 69x69",
        builder=f"{_READERS}.galaxy10:open_galaxy10",
        task=Task("classification", known.GALAXY10_SDSS_CLASSES),
        image_size=69,
        layout=known.galaxy10_layout("sdss"),
        reference="https://astronn.readthedocs.io/en/latest/galaxy10sdss.html",
        defaults={"variant": "sdss"},
    ),
]
