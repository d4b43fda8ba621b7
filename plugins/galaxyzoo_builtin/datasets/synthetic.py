"""The synthetic-galaxy datasets: :mod:`galaxyzoo.data.synthetic` behind the dataset contract.

Images are rendered on demand (a few ms each). With a ``root``, a split is rendered once into
``root/<key>.npy`` (written to a temporary file, fsynced, then renamed, so a killed run never
leaves a half-written cache behind) and read back memory-mapped.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
from tqdm import tqdm

from galaxyzoo.atomic import atomic_open
from galaxyzoo.data import synthetic
from galaxyzoo.gz2 import tree as gz2_tree
from galaxyzoo.specs import Task

CLASSIFICATION = Task("classification", synthetic.CLASSES)
VOTE_FRACTIONS = Task("vote_fractions", gz2_tree.COLUMNS)


class SyntheticGalaxies:
    """One split of synthetic galaxies: class labels, or the 37 GZ2 vote fractions (``votes``).

    ``num_samples`` defaults to :data:`galaxyzoo.data.synthetic.DEFAULT_SIZES`; sample ``i``
    is the same image for every size, batch and worker, given ``seed`` and the split.
    """

    def __init__(
        self,
        split: str = "train",
        root: str | os.PathLike | None = None,
        *,
        votes: bool = False,
        num_samples: int | None = None,
        seed: int = 0,
        image_size: int = synthetic.REFERENCE_SIZE,
    ) -> None:
        synthetic.split_id(split)  # validates
        n = synthetic.DEFAULT_SIZES[split] if num_samples is None else int(num_samples)
        if n < 1:
            raise ValueError(f"num_samples must be at least 1, got {num_samples}")
        if int(seed) < 0:
            raise ValueError(f"seed must be non-negative, got {seed}")
        if int(image_size) < 16:
            raise ValueError(f"image_size must be at least 16, got {image_size}")
        self.split, self.seed, self.image_size = split, int(seed), int(image_size)
        self.root = None if root is None else Path(root).expanduser()
        self.ids = [f"synthetic-{self.seed}-{split}-{i:06d}" for i in range(n)]
        if votes:
            self.task = VOTE_FRACTIONS
            self.targets = np.stack([synthetic.vote_fractions(self.seed, split, i) for i in range(n)])
        else:
            self.task = CLASSIFICATION
            self.targets = np.array([synthetic.label_of(i) for i in range(n)], dtype=np.int64)
        self._cached: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def read_images(self, indices: Sequence[int]) -> np.ndarray:
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        if len(indices) and (indices.min() < 0 or indices.max() >= len(self)):
            raise IndexError(f"indices must be in [0, {len(self)}), got {indices.min()}..{indices.max()}")
        if self.root is not None:
            return np.array(self._cache()[indices])
        return synthetic.images(self.seed, self.split, indices.tolist(), self.image_size)

    @property
    def cache_path(self) -> Path | None:
        if self.root is None:
            return None
        key = f"synthetic-v{synthetic.GENERATOR_VERSION}-seed{self.seed}-{self.split}-{len(self)}x{self.image_size}px"
        return self.root / f"{key}.npy"

    def _cache(self) -> np.ndarray:
        if self._cached is None:
            path = self.cache_path
            if not path.exists():
                self._write_cache(path)
            cached = np.load(path, mmap_mode="r")
            expected = (len(self), self.image_size, self.image_size, 3)
            if cached.shape != expected or cached.dtype != np.uint8:
                raise ValueError(f"{path}: cache holds {cached.dtype} {cached.shape}, expected uint8 {expected}; delete it")
            self._cached = cached
        return self._cached

    def _write_cache(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        shape = (len(self), self.image_size, self.image_size, 3)
        with atomic_open(path) as f:  # rendered into the temporary file, by name
            out = np.lib.format.open_memmap(f.name, mode="w+", dtype=np.uint8, shape=shape)
            for i in tqdm(range(len(self)), desc=f"rendering synthetic {self.split}", unit="img", leave=False):
                synthetic.image(self.seed, self.split, i, self.image_size, out[i])
            out.flush()
            del out


def classes(split: str = "train", root: str | os.PathLike | None = None, **options) -> SyntheticGalaxies:
    """Builder of the ``synthetic`` dataset (the four GalaxyMNIST classes)."""
    return SyntheticGalaxies(split, root, votes=False, **options)


def vote_fractions(split: str = "train", root: str | os.PathLike | None = None, **options) -> SyntheticGalaxies:
    """Builder of the ``synthetic_votes`` dataset (37 GZ2 vote fractions of the same images)."""
    return SyntheticGalaxies(split, root, votes=True, **options)
