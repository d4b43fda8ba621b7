"""Random augmentation, re-drawn every epoch: rotation, flips, zoom and shifts act on the ROI
box before the native resampling; shear and contrast act on the float output."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping

import numpy as np
import torch

from ..errors import UserError
from .preprocessing import Preprocessing


@dataclass(frozen=True)
class Augment:
    """Per-sample random transforms, re-drawn every epoch.

    ``rotate``: True turns by 0–360°, a number D in (0, 180) by an angle uniform in [−D, D]
    (180 is True, 0 is off). ``flip``: horizontal mirror with probability 1/2. ``zoom``: the
    ROI box's sides divided by a factor log-uniform in [1/zoom, zoom] about its centre (> 1
    magnifies). ``shift``: the (zoomed) box's centre moved by fractions of its side uniform in
    [−shift, shift], independently in x and y, so the content moves by up to ``shift`` · size
    output pixels the other way; a box is kept inside the image, which limits the shift where
    the image has no margin around it. ``shear``: a horizontal shear by an angle uniform in
    [−shear, shear] degrees about the output's centre (rows below it move right for positive
    angles), edge pixels replicated. ``contrast``: scaled by a factor uniform in
    [1 − contrast, 1 + contrast] about each image's per-channel mean. ``zoom=1`` and zero
    ``shift``, ``shear`` and ``contrast`` turn those off."""

    rotate: bool | float = False
    flip: bool = False
    zoom: float = 1.0
    contrast: float = 0.0
    shift: float = 0.0
    shear: float = 0.0

    def __post_init__(self) -> None:
        def number(name: str, lo: float, hi: float, hi_open: bool, off: str) -> float:
            value = getattr(self, name)
            ok = not isinstance(value, bool) and isinstance(value, (int, float))
            if not ok or not (lo <= value < hi if hi_open else lo <= value <= hi):
                span = f"[{lo:g}, {hi:g}{')' if hi_open else ']'}"
                raise UserError(f"augmentation {name} must be a number in {span} ({off}), got {value!r}")
            object.__setattr__(self, name, float(value))
            return float(value)

        if not isinstance(self.rotate, bool):
            degrees = number("rotate", 0.0, 180.0, False, "degrees; 0: off, 180: any angle")
            object.__setattr__(self, "rotate", True if degrees == 180.0 else degrees or False)
        number("zoom", 1.0, 4.0, False, "1: off")
        number("contrast", 0.0, 1.0, True, "0: off")
        number("shift", 0.0, 1.0, True, "fraction of the box side; 0: off")
        number("shear", 0.0, 60.0, True, "degrees; 0: off")

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "Augment":
        known = set(cls.__dataclass_fields__)
        unknown = set(values) - known
        if unknown:
            raise UserError(f"unknown augmentation options {sorted(unknown)}; known: {sorted(known)}")
        values = dict(values)
        if "flip" in values:
            values["flip"] = bool(values["flip"])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def draw(self, rng: np.random.Generator, n: int) -> dict[str, np.ndarray | None]:
        """This epoch's values for ``n`` samples, as :class:`BatchPlan` fields (None: off)."""
        if self.rotate is True:
            angles = rng.uniform(0.0, 360.0, n).astype(np.float32)
        elif self.rotate:
            angles = rng.uniform(-self.rotate, self.rotate, n).astype(np.float32)
        else:
            angles = None
        flips = rng.random(n) < 0.5 if self.flip else None
        # Each drawn after (and only when on) those before, so streams match runs without it.
        zooms = contrasts = shifts = shears = None
        if self.zoom > 1.0:
            log_z = np.log(self.zoom)
            zooms = np.exp(rng.uniform(-log_z, log_z, n))
        if self.contrast > 0.0:
            contrasts = rng.uniform(1.0 - self.contrast, 1.0 + self.contrast, n).astype(np.float32)
        if self.shift > 0.0:
            shifts = rng.uniform(-self.shift, self.shift, (n, 2))
        if self.shear > 0.0:
            shears = rng.uniform(-self.shear, self.shear, n).astype(np.float32)
        return dict(angles=angles, flips=flips, zooms=zooms, contrasts=contrasts, shifts=shifts,
                    shears=shears)


def zoom_boxes(boxes: torch.Tensor, factors, height: int, width: int) -> torch.Tensor:
    """int32 N×4 boxes with sides divided by ``factors`` about their centres (> 1 zooms in),
    each side clamped to the image's and the box shifted to lie inside the image."""
    b = boxes.detach().to("cpu", torch.float64)
    f = torch.as_tensor(np.asarray(factors, dtype=np.float64))
    cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
    bw = torch.round((b[:, 2] - b[:, 0]) / f).clamp(1, width)
    bh = torch.round((b[:, 3] - b[:, 1]) / f).clamp(1, height)
    x0 = torch.round(cx - bw / 2).clamp(torch.zeros_like(bw), width - bw)
    y0 = torch.round(cy - bh / 2).clamp(torch.zeros_like(bh), height - bh)
    out = torch.stack([x0, y0, x0 + bw, y0 + bh], dim=1).to(torch.int32)
    return out.to(boxes.device)


def shift_boxes(boxes: torch.Tensor, shifts, height: int, width: int) -> torch.Tensor:
    """int32 N×4 boxes moved by ``shifts`` (N×2: x, y as fractions of each box's width and
    height, rounded to whole pixels), clamped to lie inside the image."""
    b = boxes.detach().to("cpu", torch.int64)
    s = torch.as_tensor(np.asarray(shifts, dtype=np.float64)).reshape(-1, 2)
    bw, bh = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    x0 = (b[:, 0] + torch.round(s[:, 0] * bw).long()).clamp(torch.zeros_like(bw), width - bw)
    y0 = (b[:, 1] + torch.round(s[:, 1] * bh).long()).clamp(torch.zeros_like(bh), height - bh)
    out = torch.stack([x0, y0, x0 + bw, y0 + bh], dim=1).to(torch.int32)
    return out.to(boxes.device)


def shear_images(x: torch.Tensor, degrees) -> torch.Tensor:
    """N×C×H×W float batch sheared horizontally by ``degrees`` per image about its centre: the
    output at (x, y) (pixel centres, y down, origin at the centre) is the input bilinearly
    sampled at (x − tan(θ)·y, y), edge pixels replicated. Stays on ``x``'s device."""
    n, _, h, w = x.shape
    t = torch.tan(torch.deg2rad(torch.as_tensor(np.asarray(degrees, dtype=np.float32)))).to(x.device)
    theta = torch.zeros((n, 2, 3), dtype=x.dtype, device=x.device)
    theta[:, 0, 0] = 1.0
    theta[:, 1, 1] = 1.0
    # Normalised coordinates run over H and W; this term shifts by tan(θ)·y in pixels.
    theta[:, 0, 1] = -t.to(x.dtype) * (h / w)
    grid = torch.nn.functional.affine_grid(theta, (n, x.shape[1], h, w), align_corners=False)
    return torch.nn.functional.grid_sample(x, grid, mode="bilinear", padding_mode="border",
                                           align_corners=False)


def adjust_contrast(x: torch.Tensor, factors, prep: Preprocessing) -> torch.Tensor:
    """``(x − mean) · f + mean`` per image and channel of an N×C×S×S float batch, then clipped
    to the range of pixel values 0..1. Normalisation by ``prep.mean``/``prep.std`` is affine
    per channel, so doing this after it (with the clip bounds normalised too) equals doing it
    before."""
    f = torch.as_tensor(np.asarray(factors, dtype=np.float32), device=x.device).view(-1, 1, 1, 1)
    mean = x.mean(dim=(2, 3), keepdim=True)
    out = (x - mean) * f + mean
    c = x.shape[1]
    if prep.mean is None and prep.std is None:
        return out.clamp_(0.0, 1.0)
    mu = torch.zeros(c) if prep.mean is None else torch.tensor(prep.mean, dtype=torch.float32).expand(c)
    sd = torch.ones(c) if prep.std is None else torch.tensor(prep.std, dtype=torch.float32).expand(c)
    lo = ((0.0 - mu) / sd).to(x.device).view(1, c, 1, 1)
    hi = ((1.0 - mu) / sd).to(x.device).view(1, c, 1, 1)
    return torch.maximum(torch.minimum(out, hi), lo)
