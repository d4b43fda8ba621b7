"""Batches for training and inference: dataset → ``ops.preprocess`` → tensors on the device.

A torch DataLoader iterates over *batch plans* (indices plus this epoch's rotation angles and
flips) drawn in the main process from a generator seeded by ``(seed, epoch)``, so the data
order and augmentation of every epoch are reproducible and a resumed run sees exactly what an
uninterrupted one would. Workers read the images and, on CPU, run the native preprocessing
with one thread each; on CUDA they only read, and the main process uploads the pinned batch
and preprocesses it on the current stream (no CUDA in forked workers).

ROI boxes depend only on the image, so each is found once and kept in a shared-memory cache;
later epochs only re-sample the crop with new angles and flips. Random zoom scales the cached
box about its centre before sampling; random contrast acts on the float output.
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
    """Per-sample random transforms, re-drawn every epoch: rotation by 0–360°, mirror flip,
    zoom by a factor drawn log-uniformly in [1/zoom, zoom] (the ROI box's sides divided by it
    about its centre, so > 1 magnifies), and contrast scaled by a factor drawn uniformly in
    [1 − contrast, 1 + contrast] about each image's per-channel mean. ``zoom=1`` and
    ``contrast=0`` turn those off."""

    rotate: bool = False
    flip: bool = False
    zoom: float = 1.0
    contrast: float = 0.0

    def __post_init__(self) -> None:
        zoom, contrast = self.zoom, self.contrast
        if isinstance(zoom, bool) or not isinstance(zoom, (int, float)) or not 1.0 <= zoom <= 4.0:
            raise ValueError(f"augmentation zoom must be a number in [1, 4] (1: off), got {zoom!r}")
        if (isinstance(contrast, bool) or not isinstance(contrast, (int, float))
                or not 0.0 <= contrast < 1.0):
            raise ValueError(f"augmentation contrast must be a number in [0, 1) (0: off), got {contrast!r}")
        object.__setattr__(self, "zoom", float(zoom))
        object.__setattr__(self, "contrast", float(contrast))

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "Augment":
        known = {"rotate", "flip", "zoom", "contrast"}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown augmentation options {sorted(unknown)}; known: {sorted(known)}")
        values = dict(values)
        for key in ("rotate", "flip"):
            if key in values:
                values[key] = bool(values[key])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class BatchPlan(NamedTuple):
    """What a worker loads: dataset indices and their angles (degrees), flips, zoom and
    contrast factors, each None when that augmentation is off."""

    indices: np.ndarray
    angles: np.ndarray | None
    flips: np.ndarray | None
    zooms: np.ndarray | None = None
    contrasts: np.ndarray | None = None


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
        angles = rng.uniform(0.0, 360.0, self.n).astype(np.float32) if self.augment.rotate else None
        flips = rng.random(self.n) < 0.5 if self.augment.flip else None
        # Drawn after (and only when on) so the streams above match runs without them.
        zooms = contrasts = None
        if self.augment.zoom > 1.0:
            log_z = np.log(self.augment.zoom)
            zooms = np.exp(rng.uniform(-log_z, log_z, self.n))
        if self.augment.contrast > 0.0:
            c = self.augment.contrast
            contrasts = rng.uniform(1.0 - c, 1.0 + c, self.n).astype(np.float32)
        pick = lambda values, sel: None if values is None else values[order[sel]]
        for b in range(len(self)):
            sel = slice(b * self.batch_size, (b + 1) * self.batch_size)
            if self.world_size > 1:  # this rank's contiguous slice of the global batch
                bounds = np.linspace(sel.start, min(sel.stop, self.n), self.world_size + 1).astype(int)
                sel = slice(bounds[self.rank], bounds[self.rank + 1])
            yield BatchPlan(order[sel], pick(angles, sel), pick(flips, sel), pick(zooms, sel),
                            pick(contrasts, sel))


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
    if plan.contrasts is not None:
        out = adjust_contrast(out, plan.contrasts, prep)
    return out


def _resample_planned(images, plan: BatchPlan, prep: Preprocessing, cache: BoxCache | None,
                      num_threads: int | None) -> torch.Tensor:
    device = images.device if isinstance(images, torch.Tensor) else torch.device("cpu")
    angles = None if plan.angles is None else torch.from_numpy(plan.angles).to(device)
    flips = None if plan.flips is None else torch.from_numpy(plan.flips).to(device)
    zoom = plan.zooms is not None
    n, h, w = images.shape[:3]
    if cache is None:  # mode=None: the whole image (or its central crop), nothing to find
        if not zoom:
            return prep.apply(images, angles=angles, flips=flips, num_threads=num_threads)
        if prep.crop is not None:
            boxes = central_boxes(images, prep.crop)
        else:
            boxes = torch.tensor([0, 0, w, h], dtype=torch.int32).expand(n, 4).contiguous()
    else:
        boxes = cache.get(plan.indices)
        if boxes is None and zoom:
            boxes = ops.find_roi(images, prep.mode, prep.threshold, prep.pad,
                                 num_threads=num_threads)
            cache.put(plan.indices, boxes)
        elif boxes is None:
            out, boxes = prep.apply(images, angles=angles, flips=flips, num_threads=num_threads,
                                    return_boxes=True)
            cache.put(plan.indices, boxes)
            return out
    if zoom:
        boxes = zoom_boxes(boxes, plan.zooms, h, w)
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
