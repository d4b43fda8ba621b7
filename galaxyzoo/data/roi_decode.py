"""ROI-only JPEG decoding: JPEG bytes → the ROI's uint8 crop, decoding only what the crop needs.

The native decoder (``galaxyzoo._native.decode_roi``, built when CMake finds libjpeg-turbo's
headers) entropy-decodes each file once (``jpeg_read_coefficients``), finds the ROI with the
``find_roi`` rules on the luma plane at 1/2 scale (``roi_denom``: 2 by default, where 97% of
boxes on real GZ2 files are within 1 px of the full decoder's; 8, the DC coefficients alone, is
faster but its boxes are a median 12 px off),
then inverse-transforms and colour-converts only the blocks under the box, at the power-of-two
scale ingest uses today (a side ≥ ``first``; finer when the box is under ``size`` pixels), and
area-resizes the box with the native ``crop_resize`` rules.

It is not byte-identical to :func:`galaxyzoo.workflows.ingest.crop_blobs` (the simplejpeg
path): boxes are found on a coarser image and its float IDCT rounds differently from
libjpeg-turbo's scaled integer IDCTs; ``tests/test_roi_decode.py`` states the measured
differences. Files it does not handle (PNG, CMYK/YCCK/RGB JPEGs, headers over
``max_pixels``) come back as ``None`` outcomes for the caller's fallback decoder; without
the native decoder :data:`AVAILABLE` is False and every blob falls back.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .. import _native, ops
from ..errors import DecodeError
from .decode import MAX_PIXELS, sniff_format, _jpeg_failure

AVAILABLE: bool = bool(getattr(_native, "HAVE_LIBJPEG", False))
FALLBACK = "fallback"
_OK, _JPEG_ERROR = 0, 1


def decode_roi(
    blobs: Sequence[bytes],
    size: int,
    *,
    mode: str | None = "central",
    threshold: int | str = "auto",
    pad: float = 0.1,
    k: float = 3.0,
    first: int | None = None,
    roi_denom: int = 2,
    max_pixels: int = MAX_PIXELS,
    num_threads: int = 1,
) -> tuple[np.ndarray, np.ndarray, list[DecodeError | str | None]]:
    """Crops of JPEG bytes: (uint8 N×3×S×S, int32 N×8 info, outcomes).

    info per blob: box (x0, y0, x1, y1) on the decoded image, decoded (h, w), original (h, w).
    outcome per blob: None (ok), a :class:`DecodeError` (bad JPEG: reason ``truncated`` or
    ``corrupt``, as the simplejpeg path), or :data:`FALLBACK` (decode it another way; its
    rows of the arrays are undefined). ``first``: the decode scale's minimum side
    (default ``2 * size``, ``size`` with ``mode=None``, as ingest).
    """
    n = len(blobs)
    out = np.zeros((n, 3, size, size), np.uint8)
    info = np.zeros((n, 8), np.int32)
    outcomes: list[DecodeError | str | None] = [FALLBACK] * n
    if not AVAILABLE or n == 0:
        return out, info, outcomes
    if first is None:
        first = size if mode is None else 2 * size
    todo = [i for i, b in enumerate(blobs) if isinstance(b, bytes) and sniff_format(b) == "jpeg"]
    if not todo:
        return out, info, outcomes
    mode_id = -1 if mode is None else ops._mode(mode)
    thr = ops._threshold(threshold)
    sub_out = out if len(todo) == n else np.zeros((len(todo), 3, size, size), np.uint8)
    sub_info = info if len(todo) == n else np.zeros((len(todo), 8), np.int32)
    results = _native.decode_roi([blobs[i] for i in todo], sub_out, sub_info, ops._size(size), int(first),
                                 mode_id, thr, float(k), float(pad), int(roi_denom), int(max_pixels),
                                 int(num_threads))
    if sub_out is not out:
        out[todo], info[todo] = sub_out, sub_info
    for i, (status, message) in zip(todo, results):
        if status == _OK:
            outcomes[i] = None
        elif status == _JPEG_ERROR:
            outcomes[i] = _jpeg_failure(blobs[i], ValueError(message))
    return out, info, outcomes


def crop_with_fallback(blobs: Sequence, size: int, mode: str | None, threshold: int | str, pad: float,
                       fallback: Callable) -> tuple[np.ndarray, list, list, list, list]:
    """Ingest's crops of ``blobs`` (bytes, or the DecodeError reading them): (uint8 M×3×S×S
    crops of the M good ones in order, and per blob its box in original pixels, original and
    decoded (h, w), error). Blobs this decoder does not take go through ``fallback`` (a
    function of a list of blobs returning the same five fields as attributes ``pixels``,
    ``boxes``, ``original``, ``decoded``, ``errors``, e.g. ingest's ``crop_blobs``)."""
    n = len(blobs)
    pixels, info, outcomes = decode_roi(blobs, size, mode=mode, threshold=threshold, pad=pad)
    rest = [i for i in range(n) if outcomes[i] == FALLBACK]
    other = fallback([blobs[i] for i in rest])
    boxes, original, decoded, errors = [None] * n, [None] * n, [None] * n, [None] * n
    taken = {}
    good_rest = iter(other.pixels)
    for j, i in enumerate(rest):
        boxes[i], original[i], decoded[i], errors[i] = other.boxes[j], other.original[j], other.decoded[j], other.errors[j]
        if errors[i] is None:
            taken[i] = next(good_rest)
    here = [i for i in range(n) if outcomes[i] is None]  # decoded by this decoder
    if here:  # boxes in original pixels, as ingest's to_original, for all of them at once
        sizes = info[here, 4:8].astype(np.float64)  # decoded (h, w), original (h, w)
        sy, sx = sizes[:, 2] / sizes[:, 0], sizes[:, 3] / sizes[:, 1]
        scaled = np.rint(info[here, :4].astype(np.float64) * np.stack([sx, sy, sx, sy], 1)).astype(np.int64)
        for i, box, dec, orig in zip(here, scaled.tolist(), info[here, 4:6].tolist(), info[here, 6:8].tolist()):
            boxes[i], decoded[i], original[i], taken[i] = box, tuple(dec), tuple(orig), pixels[i]
    for i in range(n):
        if outcomes[i] is not None and outcomes[i] != FALLBACK:
            errors[i] = outcomes[i]
    good = sorted(taken)
    crops = np.stack([taken[i] for i in good]) if good else np.empty((0, 3, size, size), np.uint8)
    return crops, boxes, original, decoded, errors
