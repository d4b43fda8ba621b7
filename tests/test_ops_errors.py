"""Bad input to galaxyzoo.ops raises TypeError/ValueError with a clear message; nothing
crashes, including when the native module is called directly."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from galaxyzoo import _native, ops

IMAGES = np.zeros((2, 8, 10, 3), np.uint8)
BOXES = np.array([[0, 0, 10, 8]] * 2, np.int32)


@pytest.mark.parametrize("images,error,match", [
    (np.zeros((2, 8, 10, 3), np.float32), TypeError, "uint8"),
    (torch.zeros((2, 8, 10, 3), dtype=torch.int16), TypeError, "uint8"),
    ([[[[0, 0, 0]]]], TypeError, "numpy array or a torch tensor"),
    (np.zeros((8, 10, 3), np.uint8), ValueError, r"N×H×W×3"),
    (np.zeros((2, 8, 10, 4), np.uint8), ValueError, r"N×H×W×3"),
    (np.zeros((0, 8, 10, 3), np.uint8), ValueError, "empty batch"),
    (np.zeros((2, 0, 10, 3), np.uint8), ValueError, "zero size"),
    (np.zeros((2, 8, 0, 3), np.uint8), ValueError, "zero size"),
])
@pytest.mark.parametrize("op", ["find_roi", "crop_resize", "preprocess"])
def test_bad_images(op, images, error, match):
    with pytest.raises(error, match=match):
        if op == "find_roi":
            ops.find_roi(images)
        elif op == "crop_resize":
            ops.crop_resize(images, BOXES, 4)
        else:
            ops.preprocess(images, 4)


@pytest.mark.parametrize("boxes,error,match", [
    (np.array([[0, 0, 11, 8]] * 2), ValueError, "outside"),
    (np.array([[-1, 0, 5, 5]] * 2), ValueError, "outside"),
    (np.array([[3, 0, 3, 5]] * 2), ValueError, "empty"),
    (np.array([[0, 4, 5, 2]] * 2), ValueError, "empty"),
    (np.array([[0, 0, 10, 8]]), ValueError, "N×4"),
    (np.array([[0, 0, 10]] * 2), ValueError, "N×4"),
    (np.array([[0.0, 0, 10, 8]] * 2), TypeError, "integers"),
])
def test_bad_boxes(boxes, error, match):
    with pytest.raises(error, match=match):
        ops.crop_resize(IMAGES, boxes, 4)
    with pytest.raises(error, match=match):
        ops.preprocess(IMAGES, 4, boxes=boxes)


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(size=0), ValueError, "size"),
    (dict(size=5000), ValueError, "size"),
    (dict(size=4.0), TypeError, "size"),
    (dict(interp="cubic"), ValueError, "interp"),
    (dict(out_dtype="float16"), ValueError, "out_dtype"),
    (dict(out_dtype="uint8", mean=0.5), ValueError, "float32"),
    (dict(std=[1, 0, 1]), ValueError, "non-zero"),
    (dict(mean=[0.1, 0.2]), ValueError, "1 or 3"),
    (dict(mean=float("nan")), ValueError, "finite"),
    (dict(angles=[0.0]), ValueError, "one entry per image"),
    (dict(angles=[0.0, float("inf")]), ValueError, "finite"),
    (dict(flips=[0, 4]), ValueError, "0..3"),
    (dict(flips=[0.5, 1.0]), TypeError, "bool or integer"),
    (dict(flips=[1, 0, 1]), ValueError, "one entry per image"),
    (dict(mode="largest"), ValueError, "mode"),
    (dict(threshold="otsu"), ValueError, "threshold"),
    (dict(threshold=256), ValueError, "threshold"),
    (dict(threshold=2.5), TypeError, "threshold"),
    (dict(num_threads=0), ValueError, "num_threads"),
])
def test_bad_options(kwargs, error, match):
    kwargs = {"size": 4, **kwargs}
    with pytest.raises(error, match=match):
        ops.preprocess(IMAGES, **kwargs)


def test_native_module_validates_its_buffers():
    out = np.empty((2, 3, 4, 4), np.float32)
    boxes = BOXES.copy()
    with pytest.raises(ValueError, match="outside"):
        _native.crop_resize(IMAGES, np.array([[0, 0, 99, 8]] * 2, np.int32), out, 4)
    with pytest.raises(ValueError, match="out must be"):
        _native.crop_resize(IMAGES, boxes, np.empty((2, 3, 5, 4), np.float32), 4)
    with pytest.raises(TypeError, match="float32 or uint8"):
        _native.crop_resize(IMAGES, boxes, np.empty((2, 3, 4, 4), np.float64), 4)
    with pytest.raises(TypeError, match="int32"):
        _native.find_roi(IMAGES, 1, -1, 3.0, 0.1, np.empty((2, 4), np.int64))
    with pytest.raises(ValueError, match="read-only"):
        ro = np.empty((2, 4), np.int32)
        ro.flags.writeable = False
        _native.find_roi(IMAGES, 1, -1, 3.0, 0.1, ro)
    with pytest.raises(ValueError, match="mode"):
        _native.find_roi(IMAGES, 7, -1, 3.0, 0.1, boxes)
    with pytest.raises(ValueError, match="threshold"):
        _native.find_roi(IMAGES, 1, 300, 3.0, 0.1, boxes)
    with pytest.raises(ValueError, match="rot must be"):
        _native.crop_resize(IMAGES, boxes, out, 4, rot=np.zeros((2, 3), np.float32))
    with pytest.raises(TypeError, match="rot must be a numpy array"):
        _native.crop_resize(IMAGES, boxes, out, 4, rot=[[1.0, 0.0]] * 2)
    with pytest.raises(ValueError, match="contiguous RGB"):
        _native.find_roi(IMAGES[:, :, ::-1], 1, -1, 3.0, 0.1, boxes)


def test_cuda_status_is_reported_without_a_device():
    reason = ops.cuda_unavailable_reason()
    assert ops.cuda_available() == (reason is None)
    if not torch.cuda.is_available():
        assert reason and isinstance(reason, str)
