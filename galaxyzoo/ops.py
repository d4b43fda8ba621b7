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

CUDA inputs never cost a host synchronisation: angles, flips and boxes that already live on
the GPU are prepared there (no ``.item()``, ``.cpu()`` or ``torch.tensor(..., device=cuda)``),
host-side ones are checked on the host and uploaded from pinned memory without blocking, so
the ops can be captured into a CUDA graph. The price: an invalid *device-side* argument (a
NaN angle, a flip code outside 0..3, an empty or out-of-image box) cannot raise at the call;
that image's output is poisoned (NaN, or 0 for uint8) and the reason is recorded on the
device, raised by :func:`check_cuda_inputs` (one sync, when you choose). Host-side arguments
are rejected at the call on either backend, as before.

Before the first CUDA call the backend checks the driver, the device's compute capability
(8.0 or newer) and that this build's kernels load on it; if not, CUDA tensors are processed
on the CPU (copied there and back) after one warning that says why.
"""
from __future__ import annotations

import warnings
from contextlib import nullcontext
from typing import Any

import numpy as np
import torch

from . import _native
from .cuda_backend import _device_index, _device_reason, cuda_available, cuda_unavailable_reason  # noqa: F401
from .op_arguments import (_choice, _cos_sin_degrees, _mode, _normalisation, _size, _threads,  # noqa: F401
                           _threshold)

__all__ = ["check_cuda_inputs", "crop_resize", "cuda_available", "cuda_unavailable_reason", "find_roi",
           "preprocess"]

_INTERPS = {"area": _native.INTERP_AREA, "bilinear": _native.INTERP_BILINEAR}
_OUT_DTYPES = {"float32": torch.float32, "uint8": torch.uint8}
_WARNED: set[str] = set()  # reasons already warned about (once each)


def check_cuda_inputs(device=None) -> None:
    """Raises ValueError for device-side arguments that were invalid in the CUDA calls since
    the last check (their images were poisoned, see the module docstring), then clears the
    record. Synchronises with ``device``; cheap, but do it off the hot path."""
    index = _device_index(device)
    flags = _ERROR_FLAGS.get(index)
    if flags is None:
        return
    bits = int(flags.item())
    flags.zero_()
    problems = [message for bit, message in _ERROR_MESSAGES.items() if bits & bit]
    if problems:
        raise ValueError("invalid CUDA-side arguments since the last check_cuda_inputs(): " + "; ".join(problems))


def find_roi(images, mode: str = "central", threshold: int | str = "auto", pad: float = 0.1, *,
             k: float = 3.0, num_threads: int | None = None) -> torch.Tensor:
    """Box of each image's chosen foreground component, int32 N×4 on the images' device.

    ``mode``: ``"central"`` (the component covering or nearest the centre, padded square
    centred on it) or ``"seed"`` (the largest bounding box, Hildebrandt's padding and fallback);
    ``None``: the whole image. ``threshold``: grey level (foreground is grey > threshold) or
    ``"auto"`` (median + ``k``·1.4826·MAD of the sky).
    """
    images = _check_images(images)
    if _falls_back(images):
        return _on_cpu(find_roi, images, mode=mode, threshold=threshold, pad=pad, k=k, num_threads=num_threads)
    n, h, w, _ = images.shape
    if mode is None:
        return _whole_image_boxes(n, h, w, _device(images))
    mode_id, thr = _mode(mode), _threshold(threshold)
    if _is_cuda(images):
        cuda = _cuda_module()
        boxes = torch.empty((n, 4), dtype=torch.int32, device=images.device)
        # Bounded (~128 MiB): the kernels run the batch in chunks that fit.
        scratch = torch.empty(cuda.scratch_bytes_find_roi(n, h, w), dtype=torch.uint8,
                              device=images.device)
        with _device_context(images):
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
    if _falls_back(images):
        return _on_cpu(crop_resize, images, boxes=boxes, size=size, angles=angles, flips=flips, interp=interp,
                       out_dtype=out_dtype, mean=mean, std=std, grayscale=grayscale, num_threads=num_threads)
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
    if _falls_back(images):
        return _on_cpu(preprocess, images, size=size, mode=mode, threshold=threshold, pad=pad, boxes=boxes,
                       angles=angles, flips=flips, interp=interp, out_dtype=out_dtype, mean=mean, std=std,
                       grayscale=grayscale, num_threads=num_threads, return_boxes=return_boxes, k=k)
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
        with _device_context(images):
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
    """(cos, sin) float32 N×2 on ``device`` from degrees, by :func:`_cos_sin_degrees` on
    whichever side the angles live (the same float64 operations give the same bits on the CPU
    and the GPU). Device-side angles stay there (NaN/inf poison the image, see
    :func:`check_cuda_inputs`); host-side ones are checked here and uploaded without a sync."""
    if angles is None:
        return None
    if isinstance(angles, torch.Tensor) and angles.device.type != "cpu":
        return _device_rotation(angles, n, device)
    a = torch.as_tensor(angles, dtype=torch.float64, device="cpu").reshape(-1)
    if a.numel() != n:
        raise ValueError(f"angles must have one entry per image ({n}), got {a.numel()}")
    if not bool(torch.isfinite(a).all()):
        raise ValueError("angles must be finite")
    return _upload(_cos_sin_degrees(a).to(torch.float32).contiguous(), device)


def _device_rotation(angles: torch.Tensor, n: int, device: torch.device) -> torch.Tensor:
    """_rotation for angles that live on a device: no host sync (works on any device)."""
    a = angles.detach().reshape(-1)
    if a.numel() != n:
        raise ValueError(f"angles must have one entry per image ({n}), got {a.numel()}")
    if a.dtype.is_complex or a.dtype == torch.bool:
        raise TypeError(f"angles must be real numbers, got {a.dtype}")
    a = a.to(device=device, dtype=torch.float64)
    _flag(device, _BAD_ANGLE, ~torch.isfinite(a).all())
    return _cos_sin_degrees(a).to(torch.float32).contiguous()


def _flips(flips, n: int, device: torch.device) -> torch.Tensor | None:
    if flips is None:
        return None
    if isinstance(flips, torch.Tensor) and flips.device.type != "cpu":
        return _device_flips(flips, n, device)
    f = torch.as_tensor(flips, device="cpu").reshape(-1)
    if f.numel() != n:
        raise ValueError(f"flips must have one entry per image ({n}), got {f.numel()}")
    if f.dtype == torch.bool:
        return _upload(f.to(torch.uint8), device)
    if f.dtype.is_floating_point or f.dtype.is_complex:
        raise TypeError(f"flips must be bool or integer, got {f.dtype}")
    if bool(((f < 0) | (f > 3)).any()):
        raise ValueError("integer flips must be 0..3 (bit 0 horizontal, bit 1 vertical)")
    return _upload(f.to(torch.uint8).contiguous(), device)


def _device_flips(flips: torch.Tensor, n: int, device: torch.device) -> torch.Tensor:
    """_flips for flips that live on a device: no host sync (works on any device)."""
    f = flips.detach().reshape(-1)
    if f.numel() != n:
        raise ValueError(f"flips must have one entry per image ({n}), got {f.numel()}")
    f = f.to(device)
    if f.dtype == torch.bool:
        return f.to(torch.uint8).contiguous()
    if f.dtype.is_floating_point or f.dtype.is_complex:
        raise TypeError(f"flips must be bool or integer, got {f.dtype}")
    bad = (f < 0) | (f > 3)
    _flag(device, _BAD_FLIP, bad.any())
    # 255 (not a wrapped value that might look valid) poisons the image in the kernel.
    return torch.where(bad, 255, f).to(torch.uint8).contiguous()


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
        return images.contiguous()
    return images


def _check_boxes(boxes, n: int, h: int, w: int, images) -> torch.Tensor:
    b = boxes.detach() if isinstance(boxes, torch.Tensor) else torch.as_tensor(boxes)
    if b.dtype.is_floating_point or b.dtype == torch.bool or b.dtype.is_complex:
        raise TypeError(f"boxes must be integers, got {b.dtype}")
    if b.shape != (n, 4):
        raise ValueError(f"boxes must be N×4 with N = {n}, got shape {tuple(b.shape)}")
    device = _device(images)
    if b.device.type != "cpu":
        return _device_boxes(b, h, w, device)
    host = b.to(torch.int64)
    bad = ~((0 <= host[:, 0]) & (host[:, 0] < host[:, 2]) & (host[:, 2] <= w)
            & (0 <= host[:, 1]) & (host[:, 1] < host[:, 3]) & (host[:, 3] <= h))
    if bool(bad.any()):
        i = int(torch.nonzero(bad)[0])
        raise ValueError(f"box {i} {tuple(host[i].tolist())} is empty or outside the {w}x{h} image")
    return _upload(b.to(torch.int32).contiguous(), device)


def _device_boxes(b: torch.Tensor, h: int, w: int, device: torch.device) -> torch.Tensor:
    """_check_boxes for boxes that live on a device, no sync (works on any device): a bad box
    becomes (0, 0, 0, 0), which the kernel poisons, and is recorded for check_cuda_inputs()."""
    b = b.to(device)
    bad = ~((0 <= b[:, 0]) & (b[:, 0] < b[:, 2]) & (b[:, 2] <= w)
            & (0 <= b[:, 1]) & (b[:, 1] < b[:, 3]) & (b[:, 3] <= h))
    _flag(device, _BAD_BOX, bad.any())
    return torch.where(bad[:, None], 0, b).to(torch.int32).contiguous()


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
    # Fills on the device: no host data to copy, so no sync.
    boxes = torch.zeros((n, 4), dtype=torch.int32, device=device)
    boxes[:, 2] = w
    boxes[:, 3] = h
    return boxes


def _upload(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A host tensor on ``device`` without a host sync: CUDA copies go through pinned memory
    with non_blocking (torch keeps the pinned block until the copy has run)."""
    if device.type == "cpu":
        return t
    if device.type == "cuda":
        return t.pin_memory().to(device, non_blocking=True)
    return t.to(device)


# Device-side argument errors, one int32 word of bits per device (check_cuda_inputs).
_BAD_ANGLE, _BAD_FLIP, _BAD_BOX = 1, 2, 4
_ERROR_MESSAGES = {_BAD_ANGLE: "angles must be finite",
                   _BAD_FLIP: "integer flips must be 0..3 (bit 0 horizontal, bit 1 vertical)",
                   _BAD_BOX: "a box is empty or outside its image"}
_ERROR_FLAGS: dict[Any, torch.Tensor] = {}


def _flag(device: torch.device, bit: int, any_bad: torch.Tensor) -> None:
    """Records on the device (no sync) that some argument of this call was invalid."""
    key = _device_index(device)
    flags = _ERROR_FLAGS.get(key)
    if flags is None:
        flags = _ERROR_FLAGS[key] = torch.zeros((), dtype=torch.int32, device=device)
    flags.bitwise_or_(any_bad.to(torch.int32) * bit)


def _falls_back(images) -> bool:
    """CUDA images whose device the backend cannot use run on the CPU, after one warning."""
    if not _is_cuda(images):
        return False
    reason = cuda_unavailable_reason(images.device)
    if reason is None:
        return False
    if reason not in _WARNED:
        _WARNED.add(reason)
        warnings.warn(f"galaxyzoo: CUDA preprocessing is unavailable ({reason}); CUDA tensors are "
                      "preprocessed on the CPU instead (copied there and back)", RuntimeWarning, stacklevel=3)
    return True


def _on_cpu(fn, images, **kwargs):
    """fn on CPU copies of the CUDA arguments, results moved back to the images' device."""
    device = images.device
    moved = {k: v.cpu() if isinstance(v, torch.Tensor) else v for k, v in kwargs.items()}
    result = fn(images.cpu(), **moved)
    if isinstance(result, tuple):
        return tuple(r.to(device) for r in result)
    return result.to(device)


def _device_context(images):
    return torch.cuda.device(images.device) if images.device.type == "cuda" else nullcontext()


def _cuda_module():
    from . import _native_cuda

    return _native_cuda


def _stream(images) -> int:
    return torch.cuda.current_stream(images.device).cuda_stream
