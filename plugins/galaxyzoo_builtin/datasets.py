"""Built-in datasets, registered through the `galaxyzoo` entry-point group."""
from __future__ import annotations

from galaxyzoo import DatasetSpec, Task, hookimpl
from galaxyzoo.gz2 import tree as gz2_tree
from galaxyzoo.data import synthetic
from galaxyzoo_builtin.real_datasets import REAL_DATASETS

_SYNTHETIC_LAYOUT = (
    "nothing to download: images are generated on the fly; with a root, each split is rendered "
    "once into ROOT/synthetic-v*-seed*-SPLIT-Nx*px.npy and memory-mapped"
)
_SYNTHETIC_OPTIONS = {"seed": 0, "image_size": synthetic.REFERENCE_SIZE, "num_samples": None}


@hookimpl
def galaxyzoo_datasets():
    return [
        DatasetSpec(
            name="synthetic",
            summary="Synthetic SDSS-like galaxies in the four GalaxyMNIST classes (default, no download)",
            builder="galaxyzoo_builtin.synthetic:classes",
            task=Task("classification", synthetic.CLASSES),
            image_size=synthetic.REFERENCE_SIZE,
            layout=_SYNTHETIC_LAYOUT,
            reference="classes as in GalaxyMNIST, https://github.com/mwalmsley/galaxy_mnist",
            defaults=_SYNTHETIC_OPTIONS,
        ),
        DatasetSpec(
            name="synthetic_votes",
            summary="The synthetic galaxies with 37 GZ2 vote fractions from simulated volunteers",
            builder="galaxyzoo_builtin.synthetic:vote_fractions",
            task=Task("vote_fractions", gz2_tree.COLUMNS),
            image_size=synthetic.REFERENCE_SIZE,
            layout=_SYNTHETIC_LAYOUT,
            reference="decision tree of Willett et al. 2013 (MNRAS 435, 2835), Kaggle Galaxy Challenge columns",
            defaults=_SYNTHETIC_OPTIONS,
        ),
        *REAL_DATASETS,
    ]
