"""The dataset contract every dataset plugin's builder returns."""
from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable

import numpy as np

from ..specs import Task

__all__ = [
    "GalaxyDataset",
]


@runtime_checkable
class GalaxyDataset(Protocol):
    """Random access to decoded images and their targets.

    ``ids[i]`` names sample ``i`` (e.g. a GalaxyID); ``targets`` is int64 N (classification)
    or float32 N×K (vote fractions); ``read_images`` returns uint8 N×H×W×3 for the given
    indices, every image of one dataset at the same H×W.
    """

    task: Task
    ids: Sequence[str]
    targets: np.ndarray

    def __len__(self) -> int: ...

    def read_images(self, indices: Sequence[int]) -> np.ndarray: ...
