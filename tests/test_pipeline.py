"""The batch pipeline: reproducible epochs, cached boxes, identical results with workers."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import galaxyzoo
from galaxyzoo import ops
from galaxyzoo.data.augment import Augment
from galaxyzoo.data.pipeline import BatchLoader, EpochBatches, random_subset, Subset
from galaxyzoo.data.preprocessing import Preprocessing

AUGMENT = Augment(rotate=True, flip=True)


@pytest.fixture(scope="module")
def galaxies():
    return galaxyzoo.create_dataset("synthetic", "train", num_samples=20, image_size=96)


def test_epoch_plans_are_a_function_of_seed_and_epoch():
    def plans(seed, epoch):
        sampler = EpochBatches(10, 4, shuffle=True, augment=AUGMENT, seed=seed)
        sampler.set_epoch(epoch)
        return list(sampler)

    a, again, other_epoch, other_seed = plans(0, 1), plans(0, 1), plans(0, 2), plans(1, 1)
    for x, y in zip(a, again):
        assert np.array_equal(x.indices, y.indices) and np.array_equal(x.angles, y.angles)
        assert np.array_equal(x.flips, y.flips)
    order = np.concatenate([p.indices for p in a])
    assert sorted(order.tolist()) == list(range(10)) and len(a) == 3  # every sample once
    assert not np.array_equal(order, np.concatenate([p.indices for p in other_epoch]))
    assert not np.array_equal(order, np.concatenate([p.indices for p in other_seed]))
    angles = np.concatenate([p.angles for p in a])
    assert ((0 <= angles) & (angles < 360)).all()


def test_plans_without_shuffle_or_augmentation_and_drop_last():
    sampler = EpochBatches(10, 4, shuffle=False, drop_last=True)
    plans = list(sampler)
    assert len(sampler) == len(plans) == 2
    assert plans[0].indices.tolist() == [0, 1, 2, 3] and plans[0].angles is None and plans[0].flips is None


def collect(loader, epoch):
    loader.set_epoch(epoch)
    images, targets, indices = [], [], []
    for batch in loader:
        images.append(batch.images)
        targets.append(batch.targets)
        indices.append(batch.indices)
    return torch.cat(images), torch.cat(targets), np.concatenate(indices)


def test_loader_matches_direct_preprocessing_and_caches_boxes(galaxies):
    prep = Preprocessing(size=32)
    loader = BatchLoader(galaxies, prep, batch_size=8, shuffle=True, augment=AUGMENT, seed=3, workers=0)
    assert not loader.cache.known.any()
    images, targets, indices = collect(loader, epoch=0)
    assert loader.cache.known.all()
    assert images.shape == (20, 3, 32, 32) and images.is_contiguous(memory_format=torch.channels_last)
    assert np.array_equal(targets.numpy(), galaxies.targets[indices])
    raw = galaxies.read_images(np.arange(20))
    assert torch.equal(loader.cache.boxes, ops.find_roi(raw, "central"))
    # Same result as preprocessing the plan's images directly with its angles and flips.
    loader.sampler.set_epoch(0)
    plans = list(loader.sampler)
    angles = np.concatenate([p.angles for p in plans])
    flips = np.concatenate([p.flips for p in plans])
    expected = ops.preprocess(raw[indices], 32, angles=angles, flips=flips)
    torch.testing.assert_close(images.contiguous(), expected, rtol=0, atol=0)


def test_workers_give_the_same_batches_and_share_the_box_cache(galaxies):
    prep = Preprocessing(size=32)
    make = lambda workers: BatchLoader(galaxies, prep, batch_size=6, shuffle=True, augment=AUGMENT,
                                       seed=5, workers=workers)
    single, parallel = make(0), make(2)
    for epoch in (0, 1):  # epoch 1 uses the cached boxes
        a, b = collect(single, epoch), collect(parallel, epoch)
        assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) and np.array_equal(a[2], b[2])
        assert parallel.cache.known.all()  # filled by the worker processes, seen here
    assert torch.equal(single.cache.boxes, parallel.cache.boxes)


def test_whole_image_mode_needs_no_boxes(galaxies):
    loader = BatchLoader(galaxies, Preprocessing(size=24, mode=None), batch_size=20, workers=0)
    images, _, _ = collect(loader, 0)
    assert loader.cache is None
    expected = ops.preprocess(galaxies.read_images(np.arange(20)), 24, mode=None)
    torch.testing.assert_close(images.contiguous(), expected, rtol=0, atol=0)


def test_subsets(galaxies):
    sub = Subset(galaxies, [3, 7, 11])
    assert len(sub) == 3 and sub.ids == [galaxies.ids[i] for i in (3, 7, 11)]
    assert np.array_equal(sub.read_images([2, 0]), galaxies.read_images([11, 3]))
    picked = random_subset(galaxies, 5, seed=1)
    assert len(picked) == 5 and random_subset(galaxies, 5, seed=1).ids == picked.ids
    assert random_subset(galaxies, 50, seed=1) is galaxies


def test_options_are_checked():
    with pytest.raises(ValueError, match="unknown preprocessing"):
        Preprocessing.from_dict({"size": 32, "rotate": True})
    with pytest.raises(ValueError, match="unknown augmentation"):
        Augment.from_dict({"blur": True})
    prep = Preprocessing.from_dict({"size": 32, "mean": [0.5, 0.5, 0.5], "std": 0.25})
    assert Preprocessing.from_dict(prep.to_dict()) == prep


@pytest.mark.gpu
@pytest.mark.skipif(not ops.cuda_available(), reason=f"no CUDA preprocessing: {ops.cuda_unavailable_reason()}")
def test_cuda_loader_preprocesses_on_the_device_like_the_cpu(galaxies):
    prep = Preprocessing(size=32)
    make = lambda device, workers: BatchLoader(galaxies, prep, batch_size=8, shuffle=True,
                                               augment=AUGMENT, seed=2, workers=workers, device=device)
    cpu, gpu = make("cpu", 0), make("cuda", 2)
    for epoch in (0, 1):  # epoch 1 uses the boxes cached from the device
        a, b = collect(cpu, epoch), collect(gpu, epoch)
        assert b[0].is_cuda and b[1].is_cuda and np.array_equal(a[2], b[2])
        torch.testing.assert_close(b[0].cpu(), a[0], rtol=0, atol=1e-5)
    assert torch.equal(gpu.cache.boxes, cpu.cache.boxes)
