"""Synthetic ring galaxies: a bright core plus either a thin ring or a smooth exponential disk.

Every image is a function of (seed, split, index) alone, so any subset can be rendered in any
order and the same index always gives the same pixels. Rendering is vectorised over the batch.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .plugin import RING_TASK

SPLIT_SIZES = {"train": 512, "val": 128, "test": 128}


class RingGalaxies:
    """``GalaxyDataset`` of ``size``×``size`` RGB images; label 0 = ring, 1 = no ring."""

    task = RING_TASK

    def __init__(self, split: str = "train", root=None, size: int = 64, seed: int = 0, n: int | None = None):
        if split not in SPLIT_SIZES:
            raise ValueError(f"split must be one of {tuple(SPLIT_SIZES)}, got {split!r}")
        del root  # generated, nothing to read
        self.size, self.seed = size, seed
        self.split_index = list(SPLIT_SIZES).index(split)
        count = SPLIT_SIZES[split] if n is None else n
        self.ids = [f"{split}-{i:05d}" for i in range(count)]
        self.targets = np.random.default_rng([seed, self.split_index]).integers(0, 2, count).astype(np.int64)

    def __len__(self) -> int:
        return len(self.ids)

    def _draw(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-image shape parameters and pixel noise, each from that image's own generator."""
        rows, noise = [], []
        for i in indices:
            rng = np.random.default_rng([self.seed, self.split_index, int(i)])
            rows.append(np.concatenate([
                rng.normal(0, 2, 2),  # centre offset (px at 64)
                rng.uniform(0, np.pi, 1),  # position angle
                rng.uniform(0.5, 1.0, 1),  # axis ratio
                rng.uniform(6, 10, 1),  # core scale (px at 64)
                rng.uniform(0.85, 1.15, 3),  # colour tint
            ]))
            noise.append(rng.normal(0, 0.03, (self.size, self.size, 3)))
        return np.asarray(rows), np.asarray(noise)

    def read_images(self, indices: Sequence[int]) -> np.ndarray:
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        params, noise = self._draw(indices)
        p = params[:, :, None, None]
        unit = self.size / 64
        grid = (np.arange(self.size) - (self.size - 1) / 2) / unit
        y, x = grid[None, :, None] - p[:, 1], grid[None, None, :] - p[:, 0]
        cos, sin = np.cos(p[:, 2]), np.sin(p[:, 2])
        r = np.hypot(x * cos + y * sin, (y * cos - x * sin) / p[:, 3])
        scale = p[:, 4]
        light = np.exp(-((r / (0.35 * scale)) ** 2))
        ring = 0.7 * np.exp(-(((r - 1.7 * scale) / (0.22 * scale)) ** 2))
        disk = 0.6 * np.exp(-r / (0.8 * scale))
        has_ring = (self.targets[indices] == 0)[:, None, None]
        light = light + np.where(has_ring, ring, disk)
        rgb = light[..., None] * p[:, 5:8, 0, 0][:, None, None, :] * np.array([1.0, 0.9, 0.75])
        rgb = rgb + noise
        return (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)
