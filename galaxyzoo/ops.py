"""Native image preprocessing: region of interest, crop, resize, rotate, flip, normalise.

One front for two backends with identical results (rules in ``csrc/gz_common.h``): uint8
N×H×W×3 RGB images as a numpy array or a CPU tensor run on the C++ backend
(``galaxyzoo._native``, multi-threaded, GIL released); a CUDA tensor runs on the CUDA backend
(``galaxyzoo._native_cuda``) on the current stream, with no synchronisation. Outputs are
torch tensors on the input's device.

Boxes are int32 N×4 ``(x0, y0, x1, y1)`` with exclusive ends. Angles are degrees,
counter-clockwise as displayed (90 is ``np.rot90``); flips are bools (horizontal mirror) or
ints with bit 0 = horizontal, bit 1 = vertical. The output is the box resampled to
``size``×``size``, rotated about its centre, then mirrored.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from . import _native

__all__ = ["crop_resize", "cuda_available", "cuda_unavailable_reason", "find_roi", "preprocess"]

_MODES = {"seed": _native.MODE_SEED, "central": _native.MODE_CENTRAL}
_INTERPS = {"area": _native.INTERP_AREA, "bilinear": _native.INTERP_BILINEAR}
_OUT_DTYPES = {"float32": torch.float32, "uint8": torch.uint8}


def cuda_unavailable_reason() -> str | None:
    """Why CUDA tensors cannot be preprocessed here, or None when they can."""
    try:
        from . import _native_cuda
    except ImportError as exc:
        return f"galaxyzoo was built without its CUDA backend (no nvcc at build time): {exc}"
    if not hasattr(_native_cuda, "crop_resize"):
        return "the CUDA backend of this build has no preprocessing kernels"
    if not torch.cuda.is_available():
        return "torch sees no CUDA device"
    return None


def cuda_available() -> bool:
    """Whether :func:`preprocess` accepts CUDA tensors (see :func:`cuda_unavailable_reason`)."""
    return cuda_unavailable_reason() is None


def find_roi(images, mode: str = "central", threshold: int | str = "auto", pad: float = 0.1, *,
             k: float = 3.0, num_threads: int | None = None) -> torch.Tensor:
    """Box of each image's chosen foreground component, int32 N×4 on the images' device.

    ``mode``: ``"central"`` (the component covering or nearest the centre, padded square
    centred on it) or ``"seed"`` (the largest bounding box, seed 002's padding and fallback);
    ``None``: the whole image. ``threshold``: grey level (foreground is grey > threshold) or
    ``"auto"`` (median + ``k``·1.4826·MAD of the sky).
    """
    images = _check_images(images)
    n, h, w, _ = images.shape
    if mode is None:
        return _whole_image_boxes(n, h, w, _device(images))
    mode_id, thr = _mode(mode), _threshold(threshold)
    if _is_cuda(images):
        cuda = _cuda_module()
        boxes = torch.empty((n, 4), dtype=torch.int32, device=images.device)
        scratch = torch.empty(cuda.scratch_bytes_find_roi(n, h, w), dtype=torch.uint8,
                              device=images.device)
        with torch.cuda.device(images.device):
            cuda.find_roi(images.data_ptr(), n, h, w, images.stride(0), images.stride(1), mode_id,
                          thr, float(k), float(pad), boxes.data_ptr(), scratch.data_ptr(),
                          scratch.numel(), _stream(images))
        return boxes
    boxes = torch.empty((n, 4), dtype=torch.int32)
    _native.find_roi(_host_array(images), mode_id, thr, float(k), float(pad), boxes.numpy(),
                     _threads(num_threads))
    return boxes


def crop_resize(images, boxes, size: int, angles=None, flips=None, interp: str = "area",
                out_dtype: str = "float32", mean=None, std=None, grayscale: bool = False, *,
                num_threads: int | None = None) -> torch.Tensor:
    """Resample each image's box to ``size``×``size``: N×C×S×S (C = 1 with ``grayscale``).

    ``interp="area"`` is OpenCV's INTER_AREA (with its up-scaling rule) when the angle is a
    multiple of 90°, supersampled bilinear otherwise; ``"bilinear"`` is plain bilinear.
    ``out_dtype="float32"`` gives values in [0, 1], then ``(x - mean) / std`` per channel when
    given; ``"uint8"`` gives rounded grey levels.
    """
    images = _check_images(images)
    n, h, w, _ = images.shape
    boxes = _check_boxes(boxes, n, h, w, images)
    return _resample(images, size, angles, flips, interp, out_dtype, mean, std, grayscale,
                     num_threads, boxes=boxes)


def preprocess(images, size: int, mode: str | None = "central", threshold: int | str = "auto",
               pad: float = 0.1, boxes=None, angles=None, flips=None, interp: str = "area",
               out_dtype: str = "float32", mean=None, std=None, grayscale: bool = False,
               num_threads: int | None = None, return_boxes: bool = False, *, k: float = 3.0):
    """:func:`find_roi` (unless ``boxes`` are given or ``mode`` is None) then
    :func:`crop_resize`, fused per image on the CPU. Returns the N×C×S×S tensor, and the
    boxes too with ``return_boxes``."""
    images = _check_images(images)
    n, h, w, _ = images.shape
    if boxes is not None:
        boxes = _check_boxes(boxes, n, h, w, images)
    elif mode is None:
        boxes = _whole_image_boxes(n, h, w, _device(images))
    elif _is_cuda(images):
        boxes = find_roi(images, mode, threshold, pad, k=k)
    if boxes is not None:
        out = _resample(images, size, angles, flips, interp, out_dtype, mean, std, grayscale,
                        num_threads, boxes=boxes)
    else:
        out, boxes = _resample(images, size, angles, flips, interp, out_dtype, mean, std,
                               grayscale, num_threads, roi=(_mode(mode), _threshold(threshold),
                                                            float(k), float(pad)))
    return (out, boxes) if return_boxes else out


# --- resampling ---------------------------------------------------------------------------

def _resample(images, size, angles, flips, interp, out_dtype, mean, std, grayscale,
              num_threads, boxes=None, roi=None):
    n, h, w, _ = images.shape
    size = _size(size)
    interp_id = _INTERPS[_choice("interp", interp, _INTERPS)]
    dtype = _OUT_DTYPES[_choice("out_dtype", out_dtype, _OUT_DTYPES)]
    channels = 1 if grayscale else 3
    mean3, std3 = _normalisation(mean, std, channels, dtype)
    device = _device(images)
    rot = _rotation(angles, n, device)
    flip = _flips(flips, n, device)
    out = torch.empty((n, channels, size, size), dtype=dtype, device=device)
    if _is_cuda(images):
        with torch.cuda.device(images.device):
            _cuda_module().crop_resize(
                images.data_ptr(), n, h, w, images.stride(0), images.stride(1),
                boxes.data_ptr(), out.data_ptr(), size, 0 if rot is None else rot.data_ptr(),
                0 if flip is None else flip.data_ptr(), interp_id,
                0 if dtype == torch.float32 else 1, bool(grayscale), mean3, std3,
                _stream(images))
        return out
    args = dict(rot=None if rot is None else rot.numpy(), flips=None if flip is None else flip.numpy(),
                interp=interp_id, gray=bool(grayscale), mean=mean3, std=std3,
                num_threads=_threads(num_threads))
    arr = _host_array(images)
    if boxes is not None:
        _native.crop_resize(arr, boxes.numpy(), out.numpy(), size, **args)
        return out
    found = torch.empty((n, 4), dtype=torch.int32)
    _native.preprocess(arr, *roi, found.numpy(), out.numpy(), size, **args)
    return out, found


def _rotation(angles, n: int, device: torch.device) -> torch.Tensor | None:
    """(cos, sin) float32 N×2 from degrees, computed in float64 the same way for both
    backends; exact multiples of 90° give exact 0/±1, so they take the integer path."""
    if angles is None:
        return None
    a = torch.as_tensor(angles, dtype=torch.float64, device=device).reshape(-1)
    if a.numel() != n:
        raise ValueError(f"angles must have one entry per image ({n}), got {a.numel()}")
    if a.device.type == "cpu" and not bool(torch.isfinite(a).all()):
        raise ValueError("angles must be finite")
    a = torch.remainder(a, 360.0)
    rad = a * (math.pi / 180.0)
    quarter = a / 90.0
    right = quarter == torch.round(quarter)
    k = torch.round(quarter).long() % 4
    exact = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]], dtype=torch.float64,
                         device=device)[k]
    rot = torch.where(right[:, None], exact, torch.stack([torch.cos(rad), torch.sin(rad)], 1))
    return rot.to(torch.float32).contiguous()


def _flips(flips, n: int, device: torch.device) -> torch.Tensor | None:
    if flips is None:
        return None
    f = torch.as_tensor(flips, device=device).reshape(-1)
    if f.numel() != n:
        raise ValueError(f"flips must have one entry per image ({n}), got {f.numel()}")
    if f.dtype == torch.bool:
        return f.to(torch.uint8)
    if f.dtype.is_floating_point or f.dtype.is_complex:
        raise TypeError(f"flips must be bool or integer, got {f.dtype}")
    if f.device.type == "cpu" and bool(((f < 0) | (f > 3)).any()):
        raise ValueError("integer flips must be 0..3 (bit 0 horizontal, bit 1 vertical)")
    return f.to(torch.uint8).contiguous()


def _normalisation(mean, std, channels: int, dtype: torch.dtype):
    if (mean is not None or std is not None) and dtype != torch.float32:
        raise ValueError("mean/std apply to float32 output only")

    def three(value, default: float, name: str) -> list[float]:
        if value is None:
            return [default] * 3
        v = np.atleast_1d(np.asarray(value, dtype=np.float64)).tolist()
        if len(v) not in (1, channels):
            raise ValueError(f"{name} must have 1 or {channels} values, got {len(v)}")
        if len(v) == 1:
            v = v * 3
        if not all(math.isfinite(x) for x in v):
            raise ValueError(f"{name} must be finite")
        return [float(x) for x in v]

    std3 = three(std, 1.0, "std")
    if any(s == 0 for s in std3):
        raise ValueError("std must be non-zero")
    return three(mean, 0.0, "mean"), std3


# --- argument checks ----------------------------------------------------------------------

def _check_images(images):
    if isinstance(images, torch.Tensor):
        if images.dtype != torch.uint8:
            raise TypeError(f"images must be uint8, got {images.dtype}")
        if images.device.type not in ("cpu", "cuda"):
            raise ValueError(f"images on {images.device} are not supported (cpu or cuda)")
    elif isinstance(images, np.ndarray):
        if images.dtype != np.uint8:
            raise TypeError(f"images must be uint8, got {images.dtype}")
    else:
        raise TypeError(f"images must be a numpy array or a torch tensor, got {type(images).__name__}")
    if images.ndim != 4 or images.shape[3] != 3:
        raise ValueError(f"images must be N×H×W×3 (RGB), got shape {tuple(images.shape)}")
    if images.shape[0] == 0:
        raise ValueError("images is an empty batch")
    if images.shape[1] == 0 or images.shape[2] == 0:
        raise ValueError(f"images have zero size: {tuple(images.shape)}")
    if _is_cuda(images):
        reason = cuda_unavailable_reason()
        if reason:
            raise RuntimeError(f"CUDA images given but {reason}")
        return images.contiguous()
    return images


def _check_boxes(boxes, n: int, h: int, w: int, images) -> torch.Tensor:
    b = torch.as_tensor(boxes)
    if b.dtype.is_floating_point or b.dtype == torch.bool or b.dtype.is_complex:
        raise TypeError(f"boxes must be integers, got {b.dtype}")
    if b.shape != (n, 4):
        raise ValueError(f"boxes must be N×4 with N = {n}, got shape {tuple(b.shape)}")
    # Checked on the host: the kernels trust the boxes (a sync only for user-given CUDA boxes).
    host = b.to("cpu", torch.int64)
    bad = ~((0 <= host[:, 0]) & (host[:, 0] < host[:, 2]) & (host[:, 2] <= w)
            & (0 <= host[:, 1]) & (host[:, 1] < host[:, 3]) & (host[:, 3] <= h))
    if bool(bad.any()):
        i = int(torch.nonzero(bad)[0])
        raise ValueError(f"box {i} {tuple(host[i].tolist())} is empty or outside the {w}x{h} image")
    return b.to(device=_device(images), dtype=torch.int32).contiguous()


def _mode(mode) -> int:
    return _MODES[_choice("mode", mode, _MODES)]


def _threshold(threshold) -> int:
    if isinstance(threshold, str):
        if threshold != "auto":
            raise ValueError(f"threshold must be 'auto' or an int 0..255, got {threshold!r}")
        return -1
    if isinstance(threshold, bool) or not isinstance(threshold, (int, np.integer)):
        raise TypeError(f"threshold must be 'auto' or an int 0..255, got {threshold!r}")
    if not 0 <= threshold <= 255:
        raise ValueError(f"threshold must be 0..255, got {threshold}")
    return int(threshold)


def _size(size) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
        raise TypeError(f"size must be an int, got {size!r}")
    if not 1 <= size <= 4096:
        raise ValueError(f"size must be 1..4096, got {size}")
    return int(size)


def _choice(name: str, value: Any, options: dict) -> Any:
    if value not in options:
        raise ValueError(f"{name} must be one of {sorted(options)}, got {value!r}")
    return value


def _threads(num_threads: int | None) -> int:
    if num_threads is None:
        return 0  # all cores
    if isinstance(num_threads, bool) or not isinstance(num_threads, (int, np.integer)) or num_threads < 1:
        raise ValueError(f"num_threads must be a positive int or None, got {num_threads!r}")
    return int(num_threads)


# --- backends -----------------------------------------------------------------------------

def _is_cuda(images) -> bool:
    return isinstance(images, torch.Tensor) and images.device.type == "cuda"


def _device(images) -> torch.device:
    return images.device if isinstance(images, torch.Tensor) else torch.device("cpu")


def _host_array(images) -> np.ndarray:
    """A zero-copy numpy view when the layout fits the native code (RGB pixels contiguous)."""
    arr = images.numpy() if isinstance(images, torch.Tensor) else images
    # Strides of size-1 dimensions are irrelevant.
    fits = all(n == 1 or ok for n, ok in zip(arr.shape, (arr.strides[0] > 0, arr.strides[1] > 0,
                                                        arr.strides[2] == 3, arr.strides[3] == 1)))
    return arr if fits else np.ascontiguousarray(arr)


def _whole_image_boxes(n: int, h: int, w: int, device: torch.device) -> torch.Tensor:
    return torch.tensor([0, 0, w, h], dtype=torch.int32, device=device).repeat(n, 1)


def _cuda_module():
    from . import _native_cuda

    return _native_cuda


def _stream(images) -> int:
    return torch.cuda.current_stream(images.device).cuda_stream
