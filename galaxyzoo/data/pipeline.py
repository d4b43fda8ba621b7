"""Batches for training and inference: dataset → ``ops.preprocess`` → tensors on the device.

A torch DataLoader iterates over *batch plans* (indices plus this epoch's rotation angles and
flips) drawn in the main process from a generator seeded by ``(seed, epoch)``, so the data
order and augmentation of every epoch are reproducible and a resumed run sees exactly what an
uninterrupted one would. Workers read the images and, on CPU, run the native preprocessing
with one thread each; on CUDA they only read, and the main process uploads the pinned batch
and preprocesses it on the current stream (no CUDA in forked workers).

ROI boxes depend only on the image, so each is found once and kept in a shared-memory cache;
later epochs only re-sample the crop with new angles and flips. Random zoom scales the cached
box about its centre and random shifts move it before sampling; random shear and contrast act
on the float output.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any, Iterator, Mapping, NamedTuple, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler, get_worker_info

from .. import ops
from .base import GalaxyDataset


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
    # With mode=None: keep this central fraction of the image, e.g. 250/424 (seed 003) or
    # 207/424 (Dieleman et al.); None keeps the whole image.
    crop: float | None = None

    def __post_init__(self) -> None:
        if self.crop is not None and (self.mode is not None or not 0 < self.crop <= 1):
            raise ValueError(f"crop={self.crop!r} needs mode=None and a fraction in (0, 1]")

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "Preprocessing":
        known = set(cls.__dataclass_fields__)
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown preprocessing options {sorted(unknown)}; known: {sorted(known)}")
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
                raise ValueError(f"augmentation {name} must be a number in {span} ({off}), got {value!r}")
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
            raise ValueError(f"unknown augmentation options {sorted(unknown)}; known: {sorted(known)}")
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


class BatchPlan(NamedTuple):
    """What a worker loads: dataset indices and their angles (degrees), flips, zoom and
    contrast factors, box shifts (N×2 fractions of the side, x then y) and shear angles
    (degrees), each None when that augmentation is off."""

    indices: np.ndarray
    angles: np.ndarray | None
    flips: np.ndarray | None
    zooms: np.ndarray | None = None
    contrasts: np.ndarray | None = None
    shifts: np.ndarray | None = None
    shears: np.ndarray | None = None


class EpochBatches(Sampler):
    """Yields :class:`BatchPlan` s; the epoch's order and augmentation come from ``(seed, epoch)``."""

    def __init__(self, n: int, batch_size: int, *, shuffle: bool, augment: Augment = Augment(),
                 seed: int = 0, drop_last: bool = False, rank: int = 0, world_size: int = 1):
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        if world_size > 1 and batch_size % world_size:
            raise ValueError(f"batch size {batch_size} must be divisible by the number of "
                             f"processes ({world_size}) to train with the same global batch")
        self.n, self.batch_size, self.shuffle, self.augment = n, batch_size, shuffle, augment
        self.seed, self.drop_last, self.epoch = seed, drop_last, 0
        # Distributed training: every rank draws the same global batches and takes its share.
        self.rank, self.world_size = rank, world_size

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n // self.batch_size if self.drop_last else -(-self.n // self.batch_size)

    def __iter__(self) -> Iterator[BatchPlan]:
        rng = np.random.default_rng((self.seed, self.epoch))
        order = rng.permutation(self.n) if self.shuffle else np.arange(self.n)
        draws = self.augment.draw(rng, self.n)
        pick = lambda values, sel: None if values is None else values[order[sel]]
        for b in range(len(self)):
            sel = slice(b * self.batch_size, (b + 1) * self.batch_size)
            if self.world_size > 1:  # this rank's contiguous slice of the global batch
                bounds = np.linspace(sel.start, min(sel.stop, self.n), self.world_size + 1).astype(int)
                sel = slice(bounds[self.rank], bounds[self.rank + 1])
            yield BatchPlan(order[sel], **{k: pick(v, sel) for k, v in draws.items()})


class BoxCache:
    """ROI boxes by dataset index, filled on first sight; lives in shared memory for workers."""

    def __init__(self, n: int):
        self.boxes = torch.zeros((n, 4), dtype=torch.int32).share_memory_()
        self.known = torch.zeros(n, dtype=torch.bool).share_memory_()

    def get(self, indices: np.ndarray) -> torch.Tensor | None:
        idx = torch.from_numpy(np.asarray(indices, dtype=np.int64))
        return self.boxes[idx] if bool(self.known[idx].all()) else None

    def put(self, indices: np.ndarray, boxes: torch.Tensor) -> None:
        idx = torch.from_numpy(np.asarray(indices, dtype=np.int64))
        self.boxes[idx] = boxes.to("cpu", torch.int32)
        self.known[idx] = True


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


def _preprocess(images, plan: BatchPlan, prep: Preprocessing, cache: BoxCache | None,
                num_threads: int | None) -> torch.Tensor:
    out = _resample_planned(images, plan, prep, cache, num_threads)
    if plan.shears is not None:
        out = shear_images(out, plan.shears)
    if plan.contrasts is not None:
        out = adjust_contrast(out, plan.contrasts, prep)
    return out


def _resample_planned(images, plan: BatchPlan, prep: Preprocessing, cache: BoxCache | None,
                      num_threads: int | None) -> torch.Tensor:
    device = images.device if isinstance(images, torch.Tensor) else torch.device("cpu")
    angles = None if plan.angles is None else torch.from_numpy(plan.angles).to(device)
    flips = None if plan.flips is None else torch.from_numpy(plan.flips).to(device)
    moved = plan.zooms is not None or plan.shifts is not None  # the box changes
    n, h, w = images.shape[:3]
    if cache is None:  # mode=None: the whole image (or its central crop), nothing to find
        if not moved:
            return prep.apply(images, angles=angles, flips=flips, num_threads=num_threads)
        if prep.crop is not None:
            boxes = central_boxes(images, prep.crop)
        else:
            boxes = torch.tensor([0, 0, w, h], dtype=torch.int32).expand(n, 4).contiguous()
    else:
        boxes = cache.get(plan.indices)
        if boxes is None and moved:
            boxes = ops.find_roi(images, prep.mode, prep.threshold, prep.pad,
                                 num_threads=num_threads)
            cache.put(plan.indices, boxes)
        elif boxes is None:
            out, boxes = prep.apply(images, angles=angles, flips=flips, num_threads=num_threads,
                                    return_boxes=True)
            cache.put(plan.indices, boxes)
            return out
    if plan.zooms is not None:
        boxes = zoom_boxes(boxes, plan.zooms, h, w)
    if plan.shifts is not None:
        boxes = shift_boxes(boxes, plan.shifts, h, w)
    return prep.apply(images, boxes=boxes.to(device), angles=angles, flips=flips,
                      num_threads=num_threads)


class _PlannedBatches(Dataset):
    """Map-style dataset whose keys are batch plans; returns (images, targets, plan)."""

    def __init__(self, dataset: GalaxyDataset, prep: Preprocessing, cache: BoxCache | None,
                 preprocess_in_loader: bool):
        self.dataset, self.prep, self.cache = dataset, prep, cache
        self.preprocess_in_loader = preprocess_in_loader

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, plan: BatchPlan):
        images = np.ascontiguousarray(self.dataset.read_images(plan.indices))
        targets = torch.from_numpy(np.asarray(self.dataset.targets)[plan.indices])
        if not self.preprocess_in_loader:
            return torch.from_numpy(images), targets, plan
        threads = 1 if get_worker_info() is not None else None
        return _preprocess(images, plan, self.prep, self.cache, threads), targets, plan


def _init_worker(_: int) -> None:
    torch.set_num_threads(1)  # the workers together already use every core


def default_workers() -> int:
    return min(len(os.sched_getaffinity(0)), 4)


@dataclass
class Batch:
    images: torch.Tensor   # float N×C×S×S on the device, channels_last
    targets: torch.Tensor  # int64 N or float N×K on the device
    indices: np.ndarray    # dataset indices


@dataclass
class BatchLoader:
    """Iterates :class:`Batch` es of a dataset; call :meth:`set_epoch` before each epoch."""

    dataset: GalaxyDataset
    prep: Preprocessing
    batch_size: int
    shuffle: bool = False
    augment: Augment = field(default_factory=Augment)
    seed: int = 0
    workers: int | None = None
    device: torch.device | str = "cpu"
    drop_last: bool = False
    rank: int = 0        # with world_size > 1, each batch is this rank's share of the global one
    world_size: int = 1

    def __post_init__(self) -> None:
        self.device = torch.device(self.device)
        self.sampler = EpochBatches(len(self.dataset), self.batch_size, shuffle=self.shuffle,
                                    augment=self.augment, seed=self.seed, drop_last=self.drop_last,
                                    rank=self.rank, world_size=self.world_size)
        self.cache = BoxCache(len(self.dataset)) if self.prep.mode is not None else None
        on_gpu = self.device.type == "cuda"
        workers = default_workers() if self.workers is None else self.workers
        self.loader = DataLoader(
            _PlannedBatches(self.dataset, self.prep, self.cache, preprocess_in_loader=not on_gpu),
            batch_size=None,
            sampler=self.sampler,
            num_workers=workers,
            persistent_workers=workers > 0,
            prefetch_factor=2 if workers > 0 else None,
            pin_memory=on_gpu,
            worker_init_fn=_init_worker if workers > 0 else None,
            # Worker seeds come from this generator, not torch's global RNG, which the
            # training loop must leave untouched for an exact resume.
            generator=torch.Generator().manual_seed(self.seed),
        )

    def set_epoch(self, epoch: int) -> None:
        self.sampler.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.sampler)

    def __iter__(self) -> Iterator[Batch]:
        for images, targets, plan in self.loader:
            if self.device.type == "cuda":
                images = _preprocess(images.to(self.device, non_blocking=True), plan, self.prep,
                                     self.cache, None)
            images = images.contiguous(memory_format=torch.channels_last)
            yield Batch(images, targets.to(self.device, non_blocking=True), plan.indices)

    def close(self) -> None:
        """Stops the persistent worker processes (and the pin-memory thread) now, not whenever
        the loader is garbage collected or the interpreter exits; training calls it before it
        leaves a process group. The loader starts new workers if iterated again."""
        iterator, self.loader._iterator = self.loader._iterator, None
        if iterator is not None and hasattr(iterator, "_shutdown_workers"):
            iterator._shutdown_workers()


class Subset:
    """A view of some samples of a dataset (sorted indices), itself a :class:`GalaxyDataset`."""

    def __init__(self, dataset: GalaxyDataset, indices: Sequence[int]):
        self.base = dataset
        self.indices = np.asarray(indices, dtype=np.int64)
        self.task = dataset.task
        self.ids = [dataset.ids[i] for i in self.indices]
        self.targets = np.asarray(dataset.targets)[self.indices]

    def __len__(self) -> int:
        return len(self.indices)

    def read_images(self, indices: Sequence[int]) -> np.ndarray:
        return self.base.read_images(self.indices[np.asarray(indices, dtype=np.int64)])


def random_subset(dataset: GalaxyDataset, n: int, seed: int) -> GalaxyDataset:
    """``n`` samples chosen by ``seed`` (the dataset itself when it has no more than ``n``)."""
    if n >= len(dataset):
        return dataset
    chosen = np.random.default_rng((seed, n)).choice(len(dataset), size=n, replace=False)
    return Subset(dataset, np.sort(chosen))
