"""Random zoom, contrast, shift, shear and limited rotation: off is a no-op, the draws act as
documented, epochs reproduce."""
from __future__ import annotations

import argparse

import numpy as np
import pytest
import torch

import galaxyzoo
from galaxyzoo.cli.train_cmd import parse_augment
from galaxyzoo.data.augment import adjust_contrast, Augment, shear_images, shift_boxes, zoom_boxes
from galaxyzoo.data.pipeline import _preprocess, BatchLoader, BatchPlan, BoxCache, EpochBatches
from galaxyzoo.data.preprocessing import Preprocessing


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
        "rotate": False, "flip": False, "zoom": 1.2, "contrast": 0.2, "shift": 0.0, "shear": 0.0}
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
    recipe = galaxyzoo.registry.get_recipe("hildebrandt_votes_cnn")
    aug = Augment.from_dict(recipe.augment)
    assert (aug.rotate, aug.flip, aug.zoom, aug.contrast) == (True, True, 1.1, 0.05)


# --- shift, shear and limited rotation (Serrano's augmentation) ----------------------------

@pytest.mark.parametrize("mode", ["central", None])
def test_shift_zero_and_shear_zero_change_nothing(galaxies, mode):
    prep = Preprocessing(size=32, mode=mode, crop=None if mode else 0.7)
    make = lambda aug: BatchLoader(galaxies, prep, batch_size=5, shuffle=True, augment=aug, seed=4,
                                   workers=0)
    plain = collect(make(Augment(rotate=30, flip=True, zoom=1.2)), 1)
    off = collect(make(Augment(rotate=30, flip=True, zoom=1.2, shift=0.0, shear=0.0)), 1)
    assert torch.equal(plain[0], off[0]) and np.array_equal(plain[1], off[1])
    plan = next(iter(EpochBatches(12, 12, shuffle=True, augment=Augment(shift=0, shear=0), seed=4)))
    assert plan.shifts is None and plan.shears is None


def blob_image(x: int, y: int) -> np.ndarray:
    """One 96×96 black image with a 3×3 white square centred on pixel (x, y)."""
    img = np.zeros((1, 96, 96, 3), dtype=np.uint8)
    img[0, y - 1:y + 2, x - 1:x + 2] = 255
    return img


def peak(out: torch.Tensor) -> tuple[float, float]:
    """(x, y) centroid of the brightness of a 1×C×S×S batch, in pixels."""
    grey = out[0].double().mean(dim=0)
    ys, xs = torch.meshgrid(torch.arange(grey.shape[0]), torch.arange(grey.shape[1]), indexing="ij")
    total = grey.sum()
    return round(float((grey * xs).sum() / total), 6), round(float((grey * ys).sum() / total), 6)


def test_a_known_shift_moves_a_blob_by_the_expected_pixels():
    # The central third of the 96 px image, sampled 1:1 at 32 px: a box shift of
    # (+0.25, −0.125) of its 32 px side is (+8, −4) pixels, so the content moves (−8, +4).
    prep = Preprocessing(size=32, mode=None, crop=1 / 3, interp="bilinear")
    img = blob_image(50, 45)
    assert peak(prep.apply(img)) == (50 - 32, 45 - 32)
    plan = BatchPlan(np.arange(1), None, None, shifts=np.array([[0.25, -0.125]]))
    out = _preprocess(img, plan, prep, None, None)
    assert peak(out) == (50 - 32 - 8, 45 - 32 + 4)
    # Same through the cached-ROI path (its box is the padded square around the blob).
    central = Preprocessing(size=32, mode="central", pad=4.0, interp="bilinear")
    box = galaxyzoo.ops.find_roi(img, "central", pad=4.0)
    side = int(box[0, 2] - box[0, 0])
    moved = shift_boxes(box, [[0.25, 0.0]], 96, 96)
    assert int(moved[0, 0] - box[0, 0]) == round(0.25 * side)
    cache = BoxCache(1)
    shifted = _preprocess(img, plan._replace(shifts=np.array([[0.25, 0.0]])), central, cache, None)
    assert torch.equal(shifted, central.apply(img, boxes=moved))
    assert torch.equal(cache.boxes, box)             # the cache keeps the unshifted box


def test_shift_boxes_round_to_pixels_and_stay_inside_the_image():
    boxes = torch.tensor([[32, 32, 64, 64], [0, 0, 40, 20], [50, 60, 90, 96]], dtype=torch.int32)
    out = shift_boxes(boxes, [[0.1, -0.2], [-0.5, 0.5], [0.5, 0.5]], 96, 96)
    assert out.dtype == torch.int32
    assert out[0].tolist() == [35, 26, 67, 58]       # round(3.2) = 3, round(-6.4) = -6
    assert out[1].tolist() == [0, 10, 40, 30]        # x clamped at the left edge
    assert out[2].tolist() == [56, 60, 96, 96]       # moved to the right and bottom edges
    assert torch.equal(shift_boxes(boxes, np.zeros((3, 2)), 96, 96), boxes)


def numpy_shear(x: np.ndarray, degrees: float) -> np.ndarray:
    """Reference: each row r of an H×W image read at columns c − tan(θ)·(r + ½ − H/2), linear
    interpolation between the two nearest columns, positions clamped to [0, W − 1]."""
    h, w = x.shape
    t = np.tan(np.deg2rad(degrees))
    out = np.empty_like(x)
    for r in range(h):
        pos = np.clip(np.arange(w) - t * (r + 0.5 - h / 2), 0, w - 1)
        lo = np.floor(pos).astype(int)
        hi = np.minimum(lo + 1, w - 1)
        frac = pos - lo
        out[r] = x[r, lo] * (1 - frac) + x[r, hi] * frac
    return out


@pytest.mark.parametrize("shape", [(9, 9), (6, 10), (11, 7)])
def test_shear_maps_a_pattern_like_a_numpy_reference(shape):
    g = np.random.default_rng(0)
    x = g.random((3, 2) + shape).astype(np.float32)
    angles = np.array([20.0, -35.0, 0.0], dtype=np.float32)
    out = shear_images(torch.from_numpy(x), angles).numpy()
    for i, a in enumerate(angles):
        for c in range(2):
            np.testing.assert_allclose(out[i, c], numpy_shear(x[i, c], float(a)), atol=2e-5)


def test_shear_of_45_degrees_slides_rows_by_whole_pixels():
    # On a 9×9 image row r's offset from the centre row is r − 4, so tan 45° moves each row
    # by exactly that many pixels: a vertical line through the centre becomes a diagonal.
    x = torch.zeros(1, 1, 9, 9)
    x[0, 0, :, 4] = 1.0
    out = shear_images(x, [45.0])[0, 0]
    expect = torch.zeros(9, 9)
    expect[torch.arange(9), torch.arange(9)] = 1.0
    torch.testing.assert_close(out, expect, atol=1e-5, rtol=0)


def test_draws_of_shift_shear_and_limited_rotation(galaxies):
    aug = Augment(rotate=40, flip=True, zoom=1.2, contrast=0.1, shift=0.2, shear=5)
    plans = lambda augment, epoch: list(_epoch(augment, epoch))
    a, again, other = plans(aug, 3), plans(aug, 3), plans(aug, 4)
    fields = ("indices", "angles", "flips", "zooms", "contrasts", "shifts", "shears")
    for x, y in zip(a, again):
        assert all(np.array_equal(getattr(x, f), getattr(y, f)) for f in fields)
    shifts = np.concatenate([p.shifts for p in a])
    shears = np.concatenate([p.shears for p in a])
    angles = np.concatenate([p.angles for p in a])
    assert shifts.shape == (30, 2) and np.abs(shifts).max() <= 0.2 and (shifts < 0).any()
    assert np.abs(shears).max() <= 5 and (shears < 0).any() and (shears > 0).any()
    assert np.abs(angles).max() <= 40 and (angles < 0).any() and (angles > 0).any()
    assert not np.array_equal(shifts, np.concatenate([p.shifts for p in other]))
    # Shift and shear are drawn last: the other streams are those of a run without them.
    before = plans(Augment(rotate=40, flip=True, zoom=1.2, contrast=0.1), 3)
    for x, y in zip(a, before):
        assert all(np.array_equal(getattr(x, f), getattr(y, f)) for f in fields[:5])
    # Free rotation keeps its stream: rotate=True still draws 0–360°.
    free = np.concatenate([p.angles for p in plans(Augment(rotate=True), 3)])
    assert free.min() >= 0 and free.max() > 180


def _epoch(augment, epoch):
    sampler = EpochBatches(30, 8, shuffle=True, augment=augment, seed=5)
    sampler.set_epoch(epoch)
    return sampler


def test_shifted_and_sheared_batches_reproduce_and_resume(galaxies):
    prep = Preprocessing(size=24, mode="central")
    aug = Augment(rotate=40, flip=True, shift=0.2, shear=10)
    make = lambda: BatchLoader(galaxies, prep, batch_size=5, shuffle=True, augment=aug, seed=7,
                               workers=0)
    through = make()
    for epoch in range(3):                           # an uninterrupted run up to epoch 2 ...
        last = collect(through, epoch)
    resumed = collect(make(), 2)                     # ... and a fresh loader resuming at it
    assert torch.equal(last[0], resumed[0]) and np.array_equal(last[1], resumed[1])
    assert not torch.equal(last[0], collect(make(), 1)[0])
    # The shear acts on the resampled batch exactly as shear_images does.
    loader = BatchLoader(galaxies, prep, batch_size=12, augment=Augment(shear=10), seed=7, workers=0)
    images, _ = collect(loader, 0)
    plan = next(iter(loader.sampler))
    plain = prep.apply(galaxies.read_images(plan.indices))
    torch.testing.assert_close(images, shear_images(plain, plan.shears))
    assert not torch.equal(images, plain)


def test_rotation_range_and_new_options_are_checked():
    assert Augment(rotate=40).rotate == 40.0
    assert Augment(rotate=180).rotate is True and Augment(rotate=0).rotate is False
    for bad in ({"rotate": 200}, {"rotate": -5}, {"shift": 1.0}, {"shift": -0.1},
                {"shear": 60}, {"shear": "x"}):
        with pytest.raises(ValueError, match="rotate|shift|shear"):
            Augment.from_dict(bad)
    assert parse_augment("rotate=40,flip,shift=0.2,shear=0.2,zoom=1.2") == {
        "rotate": 40.0, "flip": True, "shift": 0.2, "shear": 0.2, "zoom": 1.2}
    for bad, msg in (("shift", "bad augmentation"), ("shear=x", "needs a number"),
                     ("shift=2", "shift must"), ("rotate=400", "rotate must")):
        with pytest.raises(argparse.ArgumentTypeError, match=msg):
            parse_augment(bad)


@pytest.mark.parametrize("name", ["serrano_votes_cnn", "serrano_votes_resnet50"])
def test_seed003_recipes_use_the_seed_values(name):
    aug = Augment.from_dict(galaxyzoo.registry.get_recipe(name).augment)
    assert (aug.rotate, aug.flip, aug.shift, aug.shear, aug.zoom) == (40.0, True, 0.2, 0.2, 1.2)
