"""Random zoom and contrast: off is a no-op, the draws act as documented, epochs reproduce."""
from __future__ import annotations

import argparse

import numpy as np
import pytest
import torch

import galaxyzoo
from galaxyzoo.cli.train_cmd import parse_augment
from galaxyzoo.data.pipeline import (
    Augment, BatchLoader, EpochBatches, Preprocessing, adjust_contrast, zoom_boxes,
)


@pytest.fixture(scope="module")
def galaxies():
    return galaxyzoo.create_dataset("synthetic", "train", num_samples=12, image_size=96)


def collect(loader, epoch):
    loader.set_epoch(epoch)
    return torch.cat([b.images for b in loader]), np.concatenate([b.indices for b in loader])


@pytest.mark.parametrize("mode", ["central", None])
def test_zoom_one_and_contrast_zero_change_nothing(galaxies, mode):
    prep = Preprocessing(size=32, mode=mode)
    make = lambda aug: BatchLoader(galaxies, prep, batch_size=5, shuffle=True, augment=aug, seed=4,
                                   workers=0)
    plain = collect(make(Augment(rotate=True, flip=True)), 1)
    off = collect(make(Augment(rotate=True, flip=True, zoom=1.0, contrast=0.0)), 1)
    assert torch.equal(plain[0], off[0]) and np.array_equal(plain[1], off[1])


def test_zoom_and_contrast_draws_keep_the_other_streams():
    base = list(EpochBatches(20, 6, shuffle=True, augment=Augment(rotate=True, flip=True), seed=1))
    more = list(EpochBatches(20, 6, shuffle=True, seed=1,
                             augment=Augment(rotate=True, flip=True, zoom=1.3, contrast=0.2)))
    for a, b in zip(base, more):
        assert np.array_equal(a.indices, b.indices) and np.array_equal(a.angles, b.angles)
        assert np.array_equal(a.flips, b.flips)
        assert np.all((b.zooms >= 1 / 1.3) & (b.zooms <= 1.3))
        assert np.all((b.contrasts >= 0.8 - 1e-6) & (b.contrasts <= 1.2 + 1e-6))
    zooms = np.concatenate([b.zooms for b in more])
    assert (zooms > 1).any() and (zooms < 1).any()


def test_zoom_scales_the_box_about_its_centre_and_keeps_it_inside():
    boxes = torch.tensor([[20, 30, 60, 70], [0, 0, 50, 50], [40, 40, 96, 96], [10, 10, 90, 90]],
                         dtype=torch.int32)
    out = zoom_boxes(boxes, [2.0, 0.5, 0.8, 0.5], 96, 96)
    assert out.dtype == torch.int32
    assert out[0].tolist() == [30, 40, 50, 60]      # side 40 → 20, same centre
    side = (out[:, 2] - out[:, 0]).tolist()
    assert side == [20, 96, 70, 96]                  # 50/0.5 and 80/0.5 clamped to the image
    assert (out[:, 0] >= 0).all() and (out[:, 1] >= 0).all()
    assert (out[:, 2] <= 96).all() and (out[:, 3] <= 96).all()
    assert out[2].tolist() == [26, 26, 96, 96]       # grown about (68, 68), shifted inside
    assert torch.equal(zoom_boxes(boxes, [1.0] * 4, 96, 96), boxes)


def test_zoomed_batches_sample_the_zoomed_cached_box(galaxies):
    prep = Preprocessing(size=32, mode="central")
    aug = Augment(zoom=1.5)
    loader = BatchLoader(galaxies, prep, batch_size=12, augment=aug, seed=2, workers=0)
    images, _ = collect(loader, 0)
    plan = next(iter(loader.sampler))
    raw = galaxies.read_images(plan.indices)
    boxes = zoom_boxes(loader.cache.boxes[torch.from_numpy(plan.indices)], plan.zooms, 96, 96)
    assert torch.equal(images, prep.apply(raw, boxes=boxes))
    assert not torch.equal(images, prep.apply(raw))
    again, _ = collect(loader, 0)                    # second pass: from the box cache
    assert torch.equal(images, again)


def test_contrast_keeps_the_mean_and_scales_deviations():
    g = torch.Generator().manual_seed(0)
    x = 0.4 + 0.1 * torch.rand(3, 2, 8, 8, generator=g)   # far from 0 and 1: no clipping
    f = np.array([0.8, 1.2, 1.0], dtype=np.float32)
    y = adjust_contrast(x, f, Preprocessing(size=8))
    mean = x.mean(dim=(2, 3), keepdim=True)
    torch.testing.assert_close(y.mean(dim=(2, 3), keepdim=True), mean)
    torch.testing.assert_close(y - mean, (x - mean) * torch.tensor(f).view(-1, 1, 1, 1))
    clipped = adjust_contrast(torch.tensor([0.0, 1.0]).view(1, 1, 1, 2), [3.0], Preprocessing(size=2))
    assert clipped.flatten().tolist() == [0.0, 1.0]


def test_contrast_after_normalisation_equals_before(galaxies):
    plain = Preprocessing(size=16, mode=None)
    norm = Preprocessing(size=16, mode=None, mean=(0.3,), std=(0.2,))
    raw = galaxies.read_images(np.arange(4))
    f = [0.5, 1.5, 2.5, 1.0]
    expect = (adjust_contrast(plain.apply(raw), f, plain) - 0.3) / 0.2
    torch.testing.assert_close(adjust_contrast(norm.apply(raw), f, norm), expect)


def test_same_seed_and_epoch_reproduce_and_epochs_differ(galaxies):
    prep = Preprocessing(size=24, mode="central")
    aug = Augment(rotate=True, flip=True, zoom=1.2, contrast=0.2)
    make = lambda: BatchLoader(galaxies, prep, batch_size=5, shuffle=True, augment=aug, seed=7,
                               workers=0)
    a, b = collect(make(), 1), collect(make(), 1)
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    c = collect(make(), 2)
    assert not torch.equal(a[0], c[0])
    # Same order, only zoom and contrast: still different from the unaugmented batches.
    only = BatchLoader(galaxies, prep, batch_size=12, augment=Augment(zoom=1.2, contrast=0.2),
                       seed=7, workers=0)
    none = BatchLoader(galaxies, prep, batch_size=12, seed=7, workers=0)
    assert not torch.equal(collect(only, 0)[0], collect(none, 0)[0])


def test_options_and_cli_values_are_checked():
    assert Augment.from_dict({"zoom": 1.2, "contrast": 0.2}).to_dict() == {
        "rotate": False, "flip": False, "zoom": 1.2, "contrast": 0.2}
    for bad in ({"zoom": 0.8}, {"zoom": "big"}, {"contrast": 1.0}, {"contrast": -0.1}):
        with pytest.raises(ValueError, match="zoom|contrast"):
            Augment.from_dict(bad)
    assert parse_augment("rotate,flip,zoom=1.2,contrast=0.2") == {
        "rotate": True, "flip": True, "zoom": 1.2, "contrast": 0.2}
    assert parse_augment("none") == {"rotate": False, "flip": False}
    assert parse_augment("flip") == {"rotate": False, "flip": True}
    for bad, msg in (("zoom=x", "needs a number"), ("zoom", "bad augmentation"),
                     ("shear", "bad augmentation"), ("zoom=0.5", "zoom must"),
                     ("contrast=2", "contrast must")):
        with pytest.raises(argparse.ArgumentTypeError, match=msg):
            parse_augment(bad)


def test_seed002_recipe_uses_the_seed_values():
    recipe = galaxyzoo.registry.get_recipe("seed002_cnn")
    aug = Augment.from_dict(recipe.augment)
    assert (aug.rotate, aug.flip, aug.zoom, aug.contrast) == (True, True, 1.1, 0.05)
