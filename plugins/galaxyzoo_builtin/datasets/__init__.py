"""Built-in datasets, registered through the `galaxyzoo` entry-point group.

The specs name their builders as ``"module:function"`` strings, so listing datasets imports no
reader code; the readers are the modules of this package."""
from __future__ import annotations

from galaxyzoo import DatasetSpec, Task, hookimpl
from galaxyzoo.data import synthetic as galaxies  # not `synthetic`: that is this package's submodule
from galaxyzoo.gz2 import tree as gz2_tree
from galaxyzoo.gz2.tree import COLUMNS

from . import gz2_real, known

_READERS = "galaxyzoo_builtin.datasets"
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
        name="gz2_votes",
        summary="The gz2_sample JPEGs with their 37 Kaggle GZ2 vote fractions (3,716 images, fixed split)",
        builder=f"{_READERS}.gz2_real:open_gz2_votes",
        task=Task("vote_fractions", COLUMNS),
        image_size=424,
        splits=("train", "val", "test"),
        layout=gz2_real.GZ2_VOTES_LAYOUT,
        reference="../shared/data/gz2_sample/README.md (votes.csv: training_solutions_rev1 rows)",
    ),
    DatasetSpec(
        name="gz2_zhu5",
        summary="7,000 real GZ2 JPEGs in Zhu et al. (2019)'s five classes: round, in_between, cigar, edge_on, spiral",
        builder=f"{_READERS}.gz2_real:open_gz2_zhu5",
        task=Task("classification", gz2_real.ZHU5_CLASSES),
        image_size=424,
        splits=("train", "val", "test"),
        layout=gz2_real.GZ2_ZHU5_LAYOUT,
        reference="Zhu et al. 2019, Ap&SS 364:55, https://arxiv.org/abs/1807.10406; ../shared/data/gz2_zhu5/README.md",
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

_SYNTHETIC_LAYOUT = (
    "nothing to download: images are generated on the fly; with a root, each split is rendered "
    "once into ROOT/synthetic-v*-seed*-SPLIT-Nx*px.npy and memory-mapped"
)
_SYNTHETIC_OPTIONS = {"seed": 0, "image_size": galaxies.REFERENCE_SIZE, "num_samples": None}


@hookimpl
def galaxyzoo_datasets():
    return [
        DatasetSpec(
            name="synthetic",
            summary="Synthetic SDSS-like galaxies in the four GalaxyMNIST classes (default, no download)",
            builder=f"{_READERS}.synthetic:classes",
            task=Task("classification", galaxies.CLASSES),
            image_size=galaxies.REFERENCE_SIZE,
            layout=_SYNTHETIC_LAYOUT,
            reference="classes as in GalaxyMNIST, https://github.com/mwalmsley/galaxy_mnist",
            defaults=_SYNTHETIC_OPTIONS,
        ),
        DatasetSpec(
            name="synthetic_votes",
            summary="The synthetic galaxies with 37 GZ2 vote fractions from simulated volunteers",
            builder=f"{_READERS}.synthetic:vote_fractions",
            task=Task("vote_fractions", gz2_tree.COLUMNS),
            image_size=galaxies.REFERENCE_SIZE,
            layout=_SYNTHETIC_LAYOUT,
            reference="decision tree of Willett et al. 2013 (MNRAS 435, 2835), Kaggle Galaxy Challenge columns",
            defaults=_SYNTHETIC_OPTIONS,
        ),
        *REAL_DATASETS,
    ]
