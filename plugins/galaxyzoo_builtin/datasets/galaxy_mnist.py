"""``galaxy_mnist``: GalaxyMNIST (Walmsley et al. 2022), 10,000 galaxies in four classes.

The HDF5 files of the ``galaxy_mnist`` package: ``train_dataset.hdf5`` (8,000) and
``test_dataset.hdf5`` (2,000), each with ``images`` (uint8 N×64×64×3, or N×224×224×3 for the
"highrez" release) and ``labels`` (0–3). ``val`` is carved from the training file, stratified by
class, by ``seed``; ``test`` is the canonical test file.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from galaxyzoo.specs import Task

from .base import H5ImageDataset, read_h5_labels, require_files, resolve_root, select_split, split_indices
from .known import GALAXY_MNIST_CLASSES, GALAXY_MNIST_FILES, GALAXY_MNIST_LAYOUT

NAME = "galaxy_mnist"
TASK = Task("classification", GALAXY_MNIST_CLASSES)
# Where the galaxy_mnist package itself keeps the files under its root.
PACKAGE_FOLDERS = {False: "GalaxyMNIST/raw", True: "GalaxyMNISTHighrez/raw"}


def _folder(base: Path, highrez: bool) -> Path:
    """``base`` itself when it holds the files, else the package's own subfolder if present."""
    package = base / PACKAGE_FOLDERS[highrez]
    has_files = any((base / f).exists() for f in GALAXY_MNIST_FILES.values())
    return package if not has_files and package.is_dir() else base


def open_galaxy_mnist(
    split: str = "train",
    root: str | Path | None = None,
    *,
    highrez: bool = False,
    val_fraction: float = 0.1,
    seed: int = 0,
) -> H5ImageDataset:
    base = resolve_root(root, NAME)
    folder = _folder(base, highrez)
    source = "test" if split == "test" else "train"
    require_files(NAME, folder, [GALAXY_MNIST_FILES[source]], GALAXY_MNIST_LAYOUT)
    path = folder / GALAXY_MNIST_FILES[source]
    rows, labels, problems = read_h5_labels(path, "images", "labels", len(GALAXY_MNIST_CLASSES), f"{source}:")
    if source == "train":
        parts = split_indices(len(rows), (1 - val_fraction, val_fraction, 0.0), seed, labels)
        members = select_split(split, {"train": parts["train"], "val": parts["val"]}, NAME)
    else:
        members = np.arange(len(rows))
    return H5ImageDataset(
        name=NAME, split=split, task=TASK, path=path, key="images", rows=rows[members],
        targets=labels[members], ids=[f"{source}:{r}" for r in rows[members]], problems=problems,
    )
