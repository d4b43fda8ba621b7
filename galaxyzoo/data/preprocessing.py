"""How a galaxy image becomes a model input: the ROI (or central) box, the output size,
channels and normalisation, as recorded in every checkpoint."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping

import numpy as np
import torch

from .. import ops
from ..errors import UserError


@dataclass(frozen=True)
class Preprocessing:
    """Arguments of :func:`galaxyzoo.ops.preprocess` that a model was trained with."""

    size: int
    mode: str | None = "central"
    threshold: Any = "auto"
    pad: float = 0.1
    interp: str = "area"
    grayscale: bool = False
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    # With mode=None: keep this central fraction of the image, e.g. 250/424 (Serrano's report) or
    # 207/424 (Dieleman et al.); None keeps the whole image.
    crop: float | None = None

    def __post_init__(self) -> None:
        if self.crop is not None and (self.mode is not None or not 0 < self.crop <= 1):
            raise UserError(f"crop={self.crop!r} needs mode=None and a fraction in (0, 1]")

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "Preprocessing":
        known = set(cls.__dataclass_fields__)
        unknown = set(values) - known
        if unknown:
            raise UserError(f"unknown preprocessing options {sorted(unknown)}; known: {sorted(known)}")
        values = dict(values)
        for key in ("mean", "std"):
            if values.get(key) is not None:
                values[key] = tuple(float(v) for v in np.atleast_1d(values[key]))
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @property
    def channels(self) -> int:
        return 1 if self.grayscale else 3

    def apply(self, images, *, boxes=None, angles=None, flips=None, num_threads=None,
              return_boxes=False):
        """Run ``ops.preprocess`` on uint8 N×H×W×3 images (numpy, or a tensor on any device)."""
        if boxes is None and self.crop is not None:
            boxes = central_boxes(images, self.crop)
        return ops.preprocess(
            images, self.size, mode=self.mode, threshold=self.threshold, pad=self.pad,
            boxes=boxes, angles=angles, flips=flips, interp=self.interp, out_dtype="float32",
            mean=self.mean, std=self.std, grayscale=self.grayscale, num_threads=num_threads,
            return_boxes=return_boxes,
        )


def central_boxes(images, fraction: float) -> torch.Tensor:
    """int32 N×4 boxes (x0, y0, x1, y1) of the central ``fraction`` of each image's side."""
    n, h, w = images.shape[:3]
    side = max(1, round(fraction * min(h, w)))
    x0, y0 = (w - side) // 2, (h - side) // 2
    box = torch.tensor([x0, y0, x0 + side, y0 + side], dtype=torch.int32)
    device = images.device if isinstance(images, torch.Tensor) else "cpu"
    return box.expand(n, 4).contiguous().to(device)
