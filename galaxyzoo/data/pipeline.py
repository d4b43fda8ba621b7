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
from dataclasses import dataclass, field
from typing import Iterator, NamedTuple, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler, get_worker_info

from .. import ops
from ..errors import UserError
from .augment import Augment, adjust_contrast, shear_images, shift_boxes, zoom_boxes
from .base import GalaxyDataset
from .preprocessing import Preprocessing, central_boxes


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
            raise UserError("batch_size must be >= 1")
        if world_size > 1 and batch_size % world_size:
            raise UserError(f"batch size {batch_size} must be divisible by the number of "
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
