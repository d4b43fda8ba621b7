"""``galaxy10`` / ``galaxy10_sdss``: the Galaxy10 data sets (Leung & Bovy), ten classes.

One HDF5 file with ``images`` (uint8 N×H×W×3) and ``ans`` (class 0–9): Galaxy10 DECaLS
(``Galaxy10_DECals.h5``, 17,736 images of 256×256) or the original Galaxy10 SDSS
(``Galaxy10.h5``, 21,785 images of 69×69). Splits are stratified by class, by ``seed`` and
``fractions``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from galaxyzoo.specs import Task

from .base import H5ImageDataset, read_h5_labels, require_files, resolve_root, select_split, split_indices
from .known import GALAXY10_DECALS_CLASSES, GALAXY10_FILES, GALAXY10_SDSS_CLASSES, galaxy10_layout

VARIANTS = {  # variant -> (dataset name, task)
    "decals": ("galaxy10", Task("classification", GALAXY10_DECALS_CLASSES)),
    "sdss": ("galaxy10_sdss", Task("classification", GALAXY10_SDSS_CLASSES)),
}


def open_galaxy10(
    split: str = "train",
    root: str | Path | None = None,
    *,
    variant: str = "decals",
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
) -> H5ImageDataset:
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {sorted(VARIANTS)}, got {variant!r}")
    name, task = VARIANTS[variant]
    base = resolve_root(root, name)
    require_files(name, base, [GALAXY10_FILES[variant]], galaxy10_layout(variant))
    path = base / GALAXY10_FILES[variant]
    rows, labels, problems = read_h5_labels(path, "images", "ans", task.num_outputs)
    members = select_split(split, split_indices(len(rows), fractions, seed, labels), name)
    return H5ImageDataset(
        name=name, split=split, task=task, path=path, key="images", rows=rows[members],
        targets=labels[members], ids=[str(r) for r in rows[members]], problems=problems,
    )
