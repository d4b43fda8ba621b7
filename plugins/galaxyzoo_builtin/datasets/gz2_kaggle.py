"""``gz2_kaggle``: the Kaggle "Galaxy Zoo – The Galaxy Challenge" files, as unpacked.

Labelled rows of ``training_solutions_rev1.csv`` (GalaxyID + the 37 tree-weighted vote
fractions Class1.1 … Class11.6, :mod:`galaxyzoo.gz2.tree`) are split train/val/test by
``seed`` and ``fractions``; the ``unlabeled`` split is ``images_test_rev1/`` (the challenge's
test images, whose labels were never published: targets are NaN).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np

from galaxyzoo.data.problems import InputProblem
from galaxyzoo.gz2.tree import COLUMNS
from galaxyzoo.plugin_api import ImageIndex
from galaxyzoo.specs import Task

from .base import UNLABELED, FileImageDataset, require_files, resolve_root, select_split
from .catalog import read_catalog_table, split_members
from .known import GZ2_KAGGLE_LAYOUT, GZ2_SOLUTIONS, GZ2_TEST_DIR, GZ2_TRAIN_DIR

NAME = "gz2_kaggle"
TASK = Task("vote_fractions", COLUMNS)


def open_gz2_kaggle(
    split: str = "train",
    root: str | Path | None = None,
    *,
    image_size: int = 424,
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
    verify: bool = False,
    num_threads: int = 1,
) -> FileImageDataset:
    """One split; ``image_size`` below 424 decodes at a reduced DCT scale (212: half the work)."""
    base = resolve_root(root, NAME)
    common = dict(name=NAME, split=split, task=TASK, image_size=image_size, verify=verify, num_threads=num_threads)
    if split == UNLABELED:
        require_files(NAME, base, [GZ2_TEST_DIR + "/"], GZ2_KAGGLE_LAYOUT)
        images = ImageIndex(base / GZ2_TEST_DIR, (".jpg",)).stems()
        ids = sorted(images, key=lambda s: (len(s), s))  # numeric order for numeric ids
        targets = np.full((len(ids), len(COLUMNS)), math.nan, np.float32)
        return FileImageDataset(ids=ids, targets=targets, paths=[images[i] for i in ids], problems=[], **common)

    require_files(NAME, base, [GZ2_SOLUTIONS, GZ2_TRAIN_DIR + "/"], GZ2_KAGGLE_LAYOUT)
    table = read_catalog_table(
        csv_path=base / GZ2_SOLUTIONS, root=base, image_dir=base / GZ2_TRAIN_DIR,
        id_column="GalaxyID", label_column="", target_columns=COLUMNS, split_column=None,
        classes=None, path_column=None,
    )
    problems = list(table.problems) + [
        InputProblem(table.ids[i], GZ2_SOLUTIONS, "missing_label", "all 37 vote fractions are empty")
        for i in np.flatnonzero(~table.labelled)
    ]
    members = select_split(split, split_members(table, fractions, seed), NAME)
    return FileImageDataset(
        ids=[table.ids[i] for i in members], targets=table.targets[members],
        paths=[table.paths[i] for i in members], problems=problems, **common,
    )
