"""Synthetic galaxies: determinism, format, class statistics measured on the images, votes
consistent with the GZ2 tree, dark SDSS-like sky, the on-disk cache and speed."""
from __future__ import annotations

import hashlib
import subprocess
import sys
import time

import numpy as np
import pytest

from galaxyzoo.gz2 import tree as gz2_tree
from galaxyzoo.data import synthetic
from galaxyzoo_builtin.datasets.synthetic import SyntheticGalaxies, classes, vote_fractions

ROUND, CIGAR, EDGE_ON, SPIRAL = range(4)
GREY = np.array([0.299, 0.587, 0.114])


def grey(images: np.ndarray) -> np.ndarray:
    return images.astype(np.float64) @ GREY


def shape_stats(img: np.ndarray) -> tuple[float, float, float]:
    """(axis ratio from second moments, azimuthal roughness, colour) of the lit central pixels.

    Roughness: the grey level's coefficient of variation along ellipses that follow the
    moments, averaged over radii — arms make it large, smooth light keeps it small.
    """
    g = grey(img)
    size = g.shape[0]
    yy, xx = np.mgrid[:size, :size] - size / 2
    aperture = xx**2 + yy**2 < (0.25 * size) ** 2  # keeps most field stars out of the moments
    w = np.clip(g - np.median(g) - 12, 0, None) * aperture
    ys, xs = np.nonzero(w)
    wt = w[ys, xs]
    cx, cy = np.average(xs, weights=wt), np.average(ys, weights=wt)
    dx, dy = xs - cx, ys - cy
    cov = np.cov(np.stack([dx, dy]), aweights=wt)
    evals, evecs = np.linalg.eigh(cov)
    q = float(np.sqrt(evals[0] / evals[1]))
    u, v = np.stack([dx, dy], 1) @ evecs[:, 1], np.stack([dx, dy], 1) @ evecs[:, 0]
    r = np.sqrt(u**2 + (v / max(q, 0.05)) ** 2)
    bins = np.minimum((r / np.percentile(r, 90) * 8).astype(int), 8)
    values = g[ys, xs]
    counts = np.bincount(bins, minlength=9)[1:8]
    mean = np.bincount(bins, values, minlength=9)[1:8] / np.maximum(counts, 1)
    sq = np.bincount(bins, values**2, minlength=9)[1:8] / np.maximum(counts, 1)
    cv = np.sqrt(np.maximum(sq - mean**2, 0)) / np.maximum(mean, 1e-9)
    roughness = float(np.average(cv, weights=counts))
    rgb = img[ys, xs].astype(np.float64)
    colour = float(np.mean((rgb[:, 0] - rgb[:, 2]) / (rgb[:, 0] + rgb[:, 2] + 1)))
    return q, roughness, colour


@pytest.fixture(scope="module")
def measured():
    """Per class: medians of (axis ratio, roughness, colour) over 30 images at 212 px."""
    ds = SyntheticGalaxies("val", num_samples=120, image_size=212, seed=3)
    stats = np.array([shape_stats(img) for img in ds.read_images(range(120))])
    return {label: np.median(stats[ds.targets == label], axis=0) for label in range(4)}


def test_same_index_same_bytes_in_any_batch_and_order():
    ds = SyntheticGalaxies("train", num_samples=12, image_size=96)
    batch = ds.read_images([7, 3, 7, 0])
    singles = np.stack([ds.read_images([i])[0] for i in (7, 3, 7, 0)])
    assert np.array_equal(batch, singles)
    everything = ds.read_images(range(12))
    assert np.array_equal(everything[::-1], ds.read_images(range(11, -1, -1)))
    assert np.array_equal(everything[[7, 3, 7, 0]], batch)
    bigger = SyntheticGalaxies("train", num_samples=30, image_size=96)
    assert np.array_equal(bigger.read_images(range(12)), everything)
    assert np.array_equal(bigger.targets[:12], ds.targets)


def test_seed_and_split_change_the_images():
    a = synthetic.image(0, "train", 5, 64)
    assert np.array_equal(a, synthetic.image(0, "train", 5, 64))
    assert not np.array_equal(a, synthetic.image(1, "train", 5, 64))
    assert not np.array_equal(a, synthetic.image(0, "val", 5, 64))
    assert not np.array_equal(a, synthetic.image(0, "train", 9, 64))  # same class, other galaxy


def test_same_bytes_in_another_process():
    code = (
        "import hashlib; from galaxyzoo.data import synthetic; "
        "print(hashlib.sha256(synthetic.image(2, 'test', 13, 80).tobytes()).hexdigest())"
    )
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert there == hashlib.sha256(synthetic.image(2, "test", 13, 80).tobytes()).hexdigest()


def test_shapes_dtypes_ids_and_balance():
    ds = classes("val", num_samples=10)
    images = ds.read_images([0, 9])
    assert images.shape == (2, 424, 424, 3) and images.dtype == np.uint8
    assert ds.task.kind == "classification" and ds.task.outputs == synthetic.CLASSES
    assert ds.targets.dtype == np.int64 and len(set(ds.ids)) == len(ds) == 10
    small = SyntheticGalaxies("test", num_samples=3, image_size=48).read_images([0, 1, 2])
    assert small.shape == (3, 48, 48, 3)
    balanced = SyntheticGalaxies("train", num_samples=402)
    assert np.bincount(balanced.targets).tolist() == [101, 101, 100, 100]
    assert [len(SyntheticGalaxies(s)) for s in synthetic.SPLITS] == [2000, 400, 400]


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="split"):
        SyntheticGalaxies("unlabeled")
    with pytest.raises(ValueError, match="num_samples"):
        SyntheticGalaxies("train", num_samples=0)
    with pytest.raises(ValueError, match="image_size"):
        SyntheticGalaxies("train", image_size=8)
    with pytest.raises(IndexError):
        SyntheticGalaxies("train", num_samples=4, image_size=32).read_images([4])
    with pytest.raises(ValueError, match="label"):
        synthetic.sample_galaxy(np.random.default_rng(0), 4)


def test_votes_follow_the_tree_and_the_class():
    ds = vote_fractions("train", num_samples=200)
    v = ds.targets
    assert ds.task.kind == "vote_fractions" and ds.task.outputs == gz2_tree.COLUMNS
    assert v.shape == (200, 37) and v.dtype == np.float32
    assert v.min() >= 0 and v.max() <= 1
    assert gz2_tree.max_tree_violation(v) < 1e-6
    np.testing.assert_allclose(v[:, gz2_tree.QUESTION_SLICES[0]].sum(1), 1, atol=1e-6)
    assert len(np.unique(v[:, 0])) > 20  # noisy like real votes, not a lookup table
    col = gz2_tree.COLUMNS.index
    labels = np.arange(200) % 4
    mean = {k: v[labels == k].mean(0) for k in range(4)}
    assert mean[ROUND][col("Class1.1")] > 0.6 and mean[SPIRAL][col("Class1.2")] > 0.6
    assert mean[EDGE_ON][col("Class2.1")] > 0.5 > mean[SPIRAL][col("Class2.1")]
    assert mean[SPIRAL][col("Class4.1")] > 3 * mean[ROUND][col("Class4.1")]
    assert mean[CIGAR][col("Class7.3")] > 3 * mean[ROUND][col("Class7.3")]
    assert mean[ROUND][col("Class7.1")] > 2 * mean[CIGAR][col("Class7.1")]
    # The arm-count answer follows the arms actually drawn.
    spirals = np.flatnonzero(labels == SPIRAL)
    drawn = np.array([synthetic.galaxy(0, "train", int(i)).arms for i in spirals])
    voted = v[spirals][:, gz2_tree.QUESTION_SLICES[10]][:, :5].argmax(1) + 1
    assert (voted == drawn).mean() > 0.6


def test_classes_differ_in_shape_structure_and_colour(measured):
    q = {k: measured[k][0] for k in range(4)}
    assert q[ROUND] > 0.75 and q[SPIRAL] > 0.6
    assert 0.25 < q[CIGAR] < 0.55
    assert q[EDGE_ON] < 0.6 * q[CIGAR]  # edge-on disks are thinner than cigars
    rough = {k: measured[k][1] for k in range(4)}
    assert rough[SPIRAL] > 1.5 * max(rough[ROUND], rough[CIGAR])  # arms: azimuthal structure
    colour = {k: measured[k][2] for k in range(4)}
    assert colour[ROUND] > colour[SPIRAL] + 0.05  # ellipticals red, spiral disks blue


def test_dark_sdss_like_sky():
    images = SyntheticGalaxies("test", num_samples=12).read_images(range(12))
    g = grey(images)
    border = np.concatenate([g[:, :24].reshape(12, -1), g[:, -24:].reshape(12, -1),
                             g[:, :, :24].reshape(12, -1), g[:, :, -24:].reshape(12, -1)], axis=1)
    assert np.median(border, axis=1).max() <= 10
    assert (border > 10).mean(axis=1).max() < 0.25  # Hildebrandt's threshold keeps the sky out
    assert border.std(axis=1).min() > 1  # noisy, not a flat fill
    centre = g[:, 200:224, 200:224].max(axis=(1, 2))
    assert centre.min() > 100  # the galaxy stands out


def test_threshold_roi_finds_the_galaxy():
    ops = pytest.importorskip("galaxyzoo.ops")
    n = 16
    images = synthetic.images(0, "val", range(n))
    centres = [synthetic.galaxy(0, "val", i) for i in range(n)]
    for mode, threshold in (("central", "auto"), ("seed", 10)):
        boxes = ops.find_roi(images, mode=mode, threshold=threshold).numpy()
        inside = [x0 <= g.x < x1 and y0 <= g.y < y1 for (x0, y0, x1, y1), g in zip(boxes, centres)]
        sides = boxes[:, 2] - boxes[:, 0]
        assert np.mean(inside) >= 0.9, (mode, boxes)
        assert np.median(sides) < 330, (mode, sides)  # a crop, not the whole frame


def test_disk_cache_is_atomic_and_reused(tmp_path, monkeypatch):
    direct = SyntheticGalaxies("val", num_samples=6, image_size=40).read_images(range(6))
    cached = SyntheticGalaxies("val", tmp_path, num_samples=6, image_size=40)
    assert np.array_equal(cached.read_images([5, 0, 2]), direct[[5, 0, 2]])
    assert [p.name for p in tmp_path.iterdir()] == [cached.cache_path.name]

    def no_rendering(*args, **kwargs):
        raise AssertionError("rendered although the cache exists")

    monkeypatch.setattr(synthetic, "image", no_rendering)
    monkeypatch.setattr(synthetic, "images", no_rendering)
    again = SyntheticGalaxies("val", tmp_path, num_samples=6, image_size=40)
    assert np.array_equal(again.read_images(range(6)), direct)

    np.save(SyntheticGalaxies("test", tmp_path, num_samples=2, image_size=40).cache_path, np.zeros((3, 40, 40, 3), np.uint8))
    with pytest.raises(ValueError, match="delete it"):
        SyntheticGalaxies("test", tmp_path, num_samples=2, image_size=40).read_images([0])


def test_failed_cache_write_leaves_nothing(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(synthetic, "image", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        SyntheticGalaxies("val", tmp_path, num_samples=3, image_size=32).read_images([0])
    assert list(tmp_path.iterdir()) == []


def test_preview_grid(tmp_path):
    path = tmp_path / "preview.png"
    synthetic.save_preview(path, per_class=2, size=64)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_render_speed_is_sane():
    synthetic.image(0, "train", 0)  # builds the shared noise tiles
    start = time.perf_counter()
    synthetic.images(0, "train", range(1, 21))
    per_image = (time.perf_counter() - start) / 20
    assert per_image < 0.06, f"{per_image * 1e3:.1f} ms per 424×424 image"
