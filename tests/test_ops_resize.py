"""crop_resize / preprocess on the CPU backend against NumPy references and OpenCV."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from galaxyzoo import ops

import ops_reference as ref


def random_images(n: int, h: int, w: int, seed: int = 0) -> np.ndarray:
    """Smooth structure plus noise: exercises rounding without being pure noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w]
    base = 120 + 100 * np.sin(xx / 7.0)[..., None] * np.cos(yy / 5.0)[..., None] * [1, 0.6, -0.8]
    noise = rng.normal(0, 20, (n, h, w, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def as_np(t: torch.Tensor) -> np.ndarray:
    return t.numpy()


CASES = [  # (h, w, box, size): down-scaling by integer and fractional factors, up-scaling, mixed
    (64, 80, (0, 0, 80, 64), 16),
    (97, 131, (5, 7, 100, 90), 32),
    (97, 131, (3, 2, 131, 97), 50),
    (60, 60, (10, 10, 30, 30), 64),
    (60, 60, (10, 10, 50, 20), 16),
    (40, 40, (0, 0, 40, 40), 40),
    (33, 47, (1, 2, 46, 33), 1),
]


@pytest.mark.parametrize("h,w,box,size", CASES)
def test_area_matches_exact_reference_and_opencv(h, w, box, size):
    images = random_images(3, h, w)
    boxes = np.array([box] * 3, np.int32)
    f32 = as_np(ops.crop_resize(images, boxes, size))
    u8 = as_np(ops.crop_resize(images, boxes, size, out_dtype="uint8"))
    assert f32.shape == u8.shape == (3, 3, size, size)
    x0, y0, x1, y1 = box
    for i in range(3):
        exact = ref.resample(images[i], box, size)
        assert np.abs(f32[i] * 255 - exact).max() < 0.05  # Q16 weights: far below a level
        assert np.abs(u8[i].astype(int) - np.rint(exact)).max() <= 1
        cv = cv2.resize(np.ascontiguousarray(images[i, y0:y1, x0:x1]), (size, size),
                        interpolation=cv2.INTER_AREA).transpose(2, 0, 1)
        assert np.abs(u8[i].astype(int) - cv).max() <= 1


def test_identity_size_is_exact():
    images = random_images(2, 30, 40)
    boxes = np.array([[5, 3, 25, 23]] * 2, np.int32)
    out = as_np(ops.crop_resize(images, boxes, 20, out_dtype="uint8"))
    assert np.array_equal(out, images[:, 3:23, 5:25].transpose(0, 3, 1, 2))


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("size", [16, 25])
def test_right_angles_are_exact_rot90(k, size):
    images = random_images(2, 70, 90, seed=k)
    boxes = np.array([[3, 4, 83, 64], [0, 0, 90, 70]], np.int32)
    plain = as_np(ops.crop_resize(images, boxes, size, out_dtype="uint8"))
    turned = as_np(ops.crop_resize(images, boxes, size, angles=[90.0 * k] * 2, out_dtype="uint8"))
    assert np.array_equal(turned, np.rot90(plain, k, axes=(2, 3)))
    # Rotating the image itself gives the same up to rounding (within one level).
    img = np.ascontiguousarray(np.rot90(images[:1, 4:64, 3:83], k, axes=(1, 2)))
    hh, ww = img.shape[1:3]
    direct = as_np(ops.crop_resize(img, np.array([[0, 0, ww, hh]], np.int32), size, out_dtype="uint8"))
    assert np.abs(direct.astype(int) - turned[:1]).max() <= 1


def test_flips_mirror_the_output():
    images = random_images(4, 50, 50)
    boxes = np.array([[2, 2, 48, 48]] * 4, np.int32)
    plain = as_np(ops.crop_resize(images, boxes, 20))
    flipped = as_np(ops.crop_resize(images, boxes, 20, flips=np.array([0, 1, 2, 3])))
    assert np.array_equal(flipped[0], plain[0])
    assert np.array_equal(flipped[1], plain[1][:, :, ::-1])
    assert np.array_equal(flipped[2], plain[2][:, ::-1, :])
    assert np.array_equal(flipped[3], plain[3][:, ::-1, ::-1])
    as_bool = as_np(ops.crop_resize(images, boxes, 20, flips=torch.tensor([True, False, True, False])))
    assert np.array_equal(as_bool[0], plain[0][:, :, ::-1])
    assert np.array_equal(as_bool[1], plain[1])


@pytest.mark.parametrize("angle,flips,interp,grayscale", [
    (33.0, 0, "area", False), (-120.5, 1, "area", True), (45.0, 3, "bilinear", False),
    (0.0, 2, "bilinear", True), (359.9, 0, "area", False)])
def test_rotated_path_matches_reference(angle, flips, interp, grayscale):
    images = random_images(2, 90, 110, seed=4)
    boxes = np.array([[10, 5, 100, 85], [0, 0, 110, 90]], np.int32)
    out = as_np(ops.crop_resize(images, boxes, 24, angles=[angle] * 2, flips=[flips] * 2,
                                interp=interp, grayscale=grayscale))
    rad = np.deg2rad(angle % 360.0)
    for i in range(2):
        want = ref.rotated(images[i], boxes[i], 24, np.cos(rad), np.sin(rad), flips,
                           taps=1 if interp == "bilinear" else None, grayscale=grayscale)
        assert np.array_equal(out[i], want / np.float32(255))  # same float operations


def test_rotation_keeps_a_symmetric_blob_in_place():
    """A centred round blob is unchanged by any rotation, up to resampling."""
    yy, xx = np.mgrid[:101, :101]
    blob = (200 * np.exp(-((xx - 50) ** 2 + (yy - 50) ** 2) / 300.0)).astype(np.uint8)
    img = np.repeat(blob[None, ..., None], 3, axis=3)
    boxes = np.array([[10, 10, 91, 91]], np.int32)
    plain = as_np(ops.crop_resize(img, boxes, 27))
    for angle in (17.0, 45.0, 200.0):
        turned = as_np(ops.crop_resize(img, boxes, 27, angles=[angle]))
        assert np.abs(turned - plain).max() * 255 < 6


def test_grayscale_is_opencv_grey_then_area():
    images = random_images(2, 80, 80, seed=5)
    boxes = np.array([[0, 0, 80, 80], [8, 8, 72, 72]], np.int32)
    out = as_np(ops.crop_resize(images, boxes, 20, grayscale=True, out_dtype="uint8"))
    assert out.shape == (2, 1, 20, 20)
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        exact = ref.resample(images[i], boxes[i], 20, grayscale=True)
        assert np.abs(out[i].astype(int) - np.rint(exact)).max() <= 1
        cv = cv2.resize(cv2.cvtColor(np.ascontiguousarray(images[i, y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY),
                        (20, 20), interpolation=cv2.INTER_AREA)
        assert np.abs(out[i, 0].astype(int) - cv).max() <= 2  # OpenCV 5's grey differs by <= 1


def test_mean_std_normalisation():
    images = random_images(2, 40, 40)
    boxes = np.array([[0, 0, 40, 40]] * 2, np.int32)
    plain = as_np(ops.crop_resize(images, boxes, 10))
    assert 0 <= plain.min() and plain.max() <= 1
    mean, std = np.float32([0.1, 0.2, 0.3]), np.float32([0.5, 0.25, 2.0])
    norm = as_np(ops.crop_resize(images, boxes, 10, mean=mean, std=std))
    assert np.array_equal(norm, (plain - mean[:, None, None]) / std[:, None, None])
    gray = as_np(ops.crop_resize(images, boxes, 10, grayscale=True, mean=0.5, std=0.25))
    gray_plain = as_np(ops.crop_resize(images, boxes, 10, grayscale=True))
    assert np.array_equal(gray, (gray_plain - np.float32(0.5)) / np.float32(0.25))


def test_preprocess_is_find_roi_then_crop_resize():
    images = random_images(5, 64, 64, seed=6)
    images[:, 20:40, 25:45] = 250
    out, boxes = ops.preprocess(images, 16, angles=[0, 30, 90, 200, 7], flips=[0, 1, 2, 3, 0],
                                return_boxes=True, num_threads=2)
    assert torch.equal(boxes, ops.find_roi(images))
    again = ops.crop_resize(images, boxes, 16, angles=[0, 30, 90, 200, 7], flips=[0, 1, 2, 3, 0])
    assert torch.equal(out, again)
    assert torch.equal(ops.preprocess(images, 16, boxes=boxes), ops.crop_resize(images, boxes, 16))
    whole = ops.preprocess(images, 16, mode=None)
    assert torch.equal(whole, ops.crop_resize(images, np.array([[0, 0, 64, 64]] * 5), 16))


def test_threads_and_input_kinds_agree():
    images = random_images(7, 50, 60, seed=7)
    angles = np.linspace(0, 300, 7)
    one = ops.preprocess(images, 12, angles=angles, num_threads=1)
    assert torch.equal(one, ops.preprocess(images, 12, angles=angles, num_threads=4))
    assert torch.equal(one, ops.preprocess(torch.from_numpy(images), 12, angles=torch.from_numpy(angles)))
    strided = np.ascontiguousarray(np.pad(images, ((0, 0), (0, 0), (0, 5), (0, 0))))[:, :, :60]
    assert torch.equal(one, ops.preprocess(strided, 12, angles=angles))


@settings(max_examples=40, deadline=None)
@given(h=st.integers(1, 30), w=st.integers(1, 30), size=st.integers(1, 40),
       angle=st.one_of(st.none(), st.sampled_from([0.0, 90.0, 180.0, 270.0]), st.floats(-720, 720)),
       flips=st.integers(0, 3), grayscale=st.booleans(), data=st.data())
def test_resample_property(h, w, size, angle, flips, grayscale, data):
    x0 = data.draw(st.integers(0, w - 1))
    y0 = data.draw(st.integers(0, h - 1))
    x1 = data.draw(st.integers(x0 + 1, w))
    y1 = data.draw(st.integers(y0 + 1, h))
    img = np.random.default_rng(h * 31 + w).integers(0, 256, (1, h, w, 3), dtype=np.uint8)
    box = np.array([[x0, y0, x1, y1]], np.int32)
    out = as_np(ops.crop_resize(img, box, size, angles=None if angle is None else [angle],
                                flips=[flips], grayscale=grayscale))
    assert out.shape == (1, 1 if grayscale else 3, size, size)
    assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1
    a = 0.0 if angle is None else angle % 360.0
    rad = np.deg2rad(a)
    quarter = a / 90.0
    cos, sin = [(1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0)][int(round(quarter)) % 4] \
        if quarter == round(quarter) else (np.cos(rad), np.sin(rad))
    # The integer path is taken when (cos, sin) in float32 is exactly a right angle (this
    # includes angles so small that sin underflows).
    c32, s32 = np.float32(cos), np.float32(sin)
    if (c32, s32) in {(1, 0), (0, 1), (-1, 0), (0, -1)}:
        k = {(1, 0): 0, (0, 1): 1, (-1, 0): 2, (0, -1): 3}[(c32, s32)]
        exact = np.rot90(ref.resample(img[0], box[0], size, grayscale), k, axes=(1, 2))
        if flips & 1:
            exact = exact[:, :, ::-1]
        if flips & 2:
            exact = exact[:, ::-1, :]
        assert np.abs(out[0] * 255 - exact).max() < 0.05
    else:
        want = ref.rotated(img[0], box[0], size, cos, sin, flips, grayscale=grayscale)
        np.testing.assert_allclose(out[0] * 255, want, rtol=0, atol=1e-3)


@pytest.mark.parametrize("value", [0, 255])
def test_uniform_images_stay_uniform(value):
    img = np.full((2, 37, 23, 3), value, np.uint8)
    for angle in (None, [0, 90], [13, 271]):
        out = as_np(ops.preprocess(img, 9, angles=angle, out_dtype="uint8"))
        assert (out == value).all()


_SIMD_CASES = """
import sys
import numpy as np
sys.path.insert(0, {tests!r})
from test_ops_resize import random_images
from galaxyzoo import ops
images = random_images(6, 75, 83, seed=11)
images[:, 20:50, 30:60] = 240
outs = dict(
    area=ops.preprocess(images, 20),
    gray=ops.preprocess(images, 16, mode="seed", threshold=30, grayscale=True, out_dtype="uint8"),
    rotated=ops.preprocess(images, 24, angles=np.linspace(5, 355, 6), flips=[0, 1, 2, 3, 0, 1]),
    up=ops.crop_resize(images, np.array([[10, 10, 30, 40]] * 6), 50),
    boxes=ops.find_roi(images, threshold=20),
)
np.savez({path!r}, **{{k: v.numpy() for k, v in outs.items()}})
"""


def test_baseline_kernels_match_the_avx2_kernels(tmp_path):
    """GALAXYZOO_NO_AVX2=1 selects the portable kernels: every result must be identical."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    results = {}
    for name, env in (("default", {}), ("baseline", {"GALAXYZOO_NO_AVX2": "1"})):
        path = tmp_path / f"{name}.npz"
        code = _SIMD_CASES.format(tests=str(Path(__file__).parent), path=str(path))
        subprocess.run([sys.executable, "-c", code], check=True, timeout=120,
                       env={**os.environ, **env})
        results[name] = dict(np.load(path))
    for key, value in results["default"].items():
        assert np.array_equal(value, results["baseline"][key]), key
