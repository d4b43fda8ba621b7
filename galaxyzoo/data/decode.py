"""Image files → uint8 H×W×3 RGB arrays, fast for JPEGs and strict about bad inputs.

JPEGs go through libjpeg-turbo (simplejpeg), which can scale in the DCT domain: asking for
``min_size`` decodes straight to the smallest of the scales 1/8 … 1 that is still at least that
size, which saves much of the work when the model wants small crops. CMYK/YCCK JPEGs and PNGs
go through Pillow (it knows the Adobe CMYK conventions). What a file *is* is decided by its
first bytes, never by its name.

Bad inputs raise :class:`DecodeError` with a reason code; nothing is ever filled in silently:
truncated JPEGs are errors (``strict`` decoding; Pillow's ``LOAD_TRUNCATED_IMAGES`` is never
enabled), and header dimensions are checked against ``max_pixels`` before any pixel is decoded.

Common size: datasets need one H×W per batch. :func:`fit_square` centre-crops an image to a
square (galaxy cutouts are centred on the galaxy; squashing would change the very axis ratios
morphology is judged by) and area-resizes it to the wanted side. :func:`load_batch` applies
that to every image of a batch and reports failures per item instead of raising.
"""
from __future__ import annotations

import io
import os
import stat
from contextlib import contextmanager
from concurrent.futures import ThreadPoolExecutor
from typing import Sequence, Union

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from ..errors import DecodeError
from . import fits
from .problems import shown

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_PIXELS",
    "decode_image",
    "fit_square",
    "load_batch",
    "read_header",
    "read_image",
    "sniff_format",
    "verify_images",
]

Source = Union[str, os.PathLike, bytes]

# A 8192×8192 cutout is far beyond any survey stamp; larger headers are treated as bombs.
MAX_PIXELS = 1 << 26
MAX_FILE_BYTES = 1 << 28

_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_EOI = b"\xff\xd9"
# libjpeg-turbo converts these itself, but Pillow honours the Adobe APP14 inversion flag.
_PILLOW_JPEG_COLORSPACES = ("CMYK", "YCCK")
# Pillow opens 16-bit grayscale PNGs in these modes ("I" in older releases).
_SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I")



def _simplejpeg():
    """libjpeg-turbo's binding, imported when a JPEG is first decoded (not at import time, so
    machines without it can import galaxyzoo and use everything else)."""
    import simplejpeg

    return simplejpeg


def jpeg_header(data: bytes, **scale) -> tuple:
    """simplejpeg's ``decode_jpeg_header``: (height, width, colorspace, subsampling)."""
    return _simplejpeg().decode_jpeg_header(data, **scale)

def sniff_format(data: bytes) -> str | None:
    """``"jpeg"``, ``"png"`` or None, from the magic bytes."""
    if data[:3] == _JPEG_MAGIC:
        return "jpeg"
    if data[:8] == _PNG_MAGIC:
        return "png"
    return None


def decode_image(data: bytes, min_size: int | None = None, *, max_pixels: int = MAX_PIXELS,
                 into: np.ndarray | None = None) -> np.ndarray:
    """Decode JPEG or PNG bytes to uint8 H×W×3 RGB (grayscale replicated, alpha dropped).

    With ``min_size``, a JPEG is decoded at the smallest DCT scale whose sides are both at least
    ``min_size`` (so the result may still be larger; see :func:`fit_square`). ``into``: a
    C-contiguous uint8 H×W×3 array a JPEG that decodes to exactly that shape is written into
    (and returned); anything else comes back in an array of its own.
    """
    return _decode(data, min_size, max_pixels, into)


def _decode(data: bytes, min_size: int | None, max_pixels: int, into: np.ndarray | None) -> np.ndarray:
    """:func:`decode_image`, writing into ``into`` when a JPEG decodes to exactly its shape."""
    if fits.is_fits(data):  # a FITS cutout (plain, gzip, tile-compressed): stretched to RGB, see data/fits.py
        return fits.decode_fits(data, max_pixels=max_pixels)
    kind, height, width, colorspace = _header(data)
    _check_pixels(height, width, max_pixels)
    if kind == "png":
        return _decode_with_pillow(data, "PNG", None)
    if colorspace in _PILLOW_JPEG_COLORSPACES:
        return _decode_with_pillow(data, "JPEG", min_size)
    return _decode_jpeg(data, min_size, into)


def read_image(
    path: str | os.PathLike,
    min_size: int | None = None,
    *,
    max_pixels: int = MAX_PIXELS,
    max_bytes: int = MAX_FILE_BYTES,
) -> np.ndarray:
    """Read and decode one file; every failure is a :class:`DecodeError` naming the path."""
    return _decode_file(path, min_size, max_pixels, max_bytes)


def fit_square(image: np.ndarray, size: int) -> np.ndarray:
    """Centre-crop to a square, then area-resize (bilinear when enlarging) to size×size."""
    h, w = image.shape[:2]
    if h != w:
        side = min(h, w)
        y, x = (h - side) // 2, (w - side) // 2
        image = image[y : y + side, x : x + side]
    if image.shape[0] == size:
        return image
    resample = Image.Resampling.BOX if image.shape[0] > size else Image.Resampling.BILINEAR
    return np.asarray(Image.fromarray(np.ascontiguousarray(image)).resize((size, size), resample))


def load_batch(
    sources: Sequence[Source],
    size: int,
    *,
    max_pixels: int = MAX_PIXELS,
    num_threads: int = 1,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, list[tuple[int, DecodeError]]]:
    """Decode many files (paths or bytes) into one uint8 N×size×size×3 array; never raises
    for a bad item.

    Returns the array and ``[(index, DecodeError), ...]`` for the items that failed; their
    rows are all zero. JPEGs are decoded at a DCT scale close to ``size``, straight into the
    output when that scale gives exactly ``size``: fresh page-sized allocations cost as much
    as the decode itself on small VMs, so passing a reused ``out`` helps too. Decoding
    releases the GIL, so ``num_threads`` > 1 uses more cores from one process.
    """
    if out is None:
        out = np.empty((len(sources), size, size, 3), np.uint8)
    elif out.shape != (len(sources), size, size, 3) or out.dtype != np.uint8:
        raise ValueError(f"out must be uint8 {(len(sources), size, size, 3)}, got {out.dtype} {out.shape}")

    def load(i: int) -> tuple[int, DecodeError] | None:
        src, row = sources[i], out[i]
        try:
            if isinstance(src, (bytes, bytearray, memoryview)):
                image = _decode(bytes(src), size, max_pixels, row)
            else:
                image = _decode_file(src, size, max_pixels, MAX_FILE_BYTES, row)
        except DecodeError as err:
            row[...] = 0
            return i, err
        if not np.may_share_memory(image, row):  # not decoded in place
            row[...] = fit_square(image, size)
        return None

    if num_threads > 1 and len(sources) > 1:
        with ThreadPoolExecutor(min(num_threads, len(sources))) as pool:
            results = list(pool.map(load, range(len(sources))))
    else:
        results = [load(i) for i in range(len(sources))]
    return out, [r for r in results if r is not None]


def read_header(path: str | os.PathLike, *, max_bytes: int = MAX_FILE_BYTES) -> tuple[int, int]:
    """(height, width) of a JPEG or PNG file, from its header alone."""
    data = read_bytes(path, max_bytes)
    with _naming(path):
        return _header(data)[1:3]


def verify_images(
    sources: Sequence[Source],
    *,
    max_pixels: int = MAX_PIXELS,
    num_threads: int = 1,
    progress: bool = False,
) -> list[tuple[int, DecodeError]]:
    """Fully decode every image (at the cheapest DCT scale: every byte of entropy-coded data is
    still read, so truncation is caught) and return ``[(index, DecodeError), ...]`` for the
    bad ones."""

    def check(i: int) -> tuple[int, DecodeError] | None:
        src = sources[i]
        try:
            if isinstance(src, (bytes, bytearray, memoryview)):
                _decode(bytes(src), 1, max_pixels, None)
            else:
                _decode_file(src, 1, max_pixels, MAX_FILE_BYTES)
        except DecodeError as err:
            return i, err
        return None

    with ThreadPoolExecutor(max(1, num_threads)) as pool:
        results = tqdm(pool.map(check, range(len(sources))), total=len(sources), disable=not progress,
                       desc="verifying images", unit="img")
        return [r for r in results if r is not None]


def _decode_file(path, min_size, max_pixels, max_bytes, into=None) -> np.ndarray:
    data = read_bytes(path, max_bytes)
    with _naming(path):
        return _decode(data, min_size, max_pixels, into)


@contextmanager
def _naming(path):
    """Put the file's path in front of a DecodeError's message."""
    try:
        yield
    except DecodeError as err:
        raise DecodeError(err.reason, f"{os.fspath(path)}: {err}") from None


def _header(data: bytes) -> tuple[str, int, int, str | None]:
    """(kind, height, width, JPEG colorspace) without decoding pixels."""
    if not data:
        raise DecodeError("empty", "zero-byte file")
    kind = sniff_format(data)
    if kind == "jpeg":
        try:
            height, width, colorspace, _ = jpeg_header(data)
        except ValueError as err:
            raise _jpeg_failure(data, err) from None
        return kind, height, width, colorspace
    if kind == "png":
        with _pillow_errors("PNG"), Image.open(io.BytesIO(data), formats=["PNG"]) as im:
            return kind, im.height, im.width, None
    if fits.is_fits(data):
        return "fits", *fits.fits_shape(data), None
    raise DecodeError("not_an_image", f"not a JPEG or PNG file (starts with {bytes(data[:8])!r})")


def read_bytes(path, max_bytes: int) -> bytes:
    """A file's bytes, or DecodeError (missing, unreadable, over max_bytes)."""
    name = os.fspath(path)
    try:
        # O_NONBLOCK: opening a FIFO (or a device) named *.jpg must not wait for a writer;
        # anything but a regular file is refused before a byte is read.
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        try:
            st = os.fstat(fd)
            if stat.S_ISDIR(st.st_mode):
                raise DecodeError("unreadable", f"{shown(name)}: a folder that cannot be walked (it cannot be "
                                                 "listed, or links back to a folder above it)")
            if not stat.S_ISREG(st.st_mode):
                raise DecodeError("unreadable", f"{shown(name)}: not a regular file (a FIFO, device or socket)")
            if st.st_size > max_bytes:
                raise DecodeError("too_large", f"{shown(name)}: file is {st.st_size} bytes, over the "
                                               f"{max_bytes}-byte limit")
            return _read_fd(fd, st.st_size, max_bytes + 1)
        finally:
            os.close(fd)
    except DecodeError:
        raise
    except FileNotFoundError:  # also a dangling symlink
        raise DecodeError("missing", f"{shown(name)}: no such file (or a symlink to nothing)") from None
    except IsADirectoryError:
        raise DecodeError("unreadable", f"{shown(name)}: a folder that cannot be walked (it cannot be listed, "
                                        "or links back to a folder above it)") from None
    except (OSError, ValueError) as err:  # permissions, a symlink loop, an I/O error, a NUL in the name
        raise DecodeError("unreadable", f"{shown(name)}: cannot read ({getattr(err, 'strerror', None) or err})") from None


def _read_fd(fd: int, size: int, limit: int) -> bytes:
    """At most ``limit`` bytes up to the end of file, in unbuffered reads sized by ``size`` (+1, to
    see a file that grew). Not ``open(fd).read(limit)``: a buffered read allocates ``limit``
    bytes first (a 256 MiB map and unmap per file), which cost more than the read itself."""
    parts, total = [], 0
    while total < limit:
        part = os.read(fd, min(limit - total, max(size + 1 - total, 1 << 16)))
        if not part:
            break
        parts.append(part)
        total += len(part)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _check_pixels(height: int, width: int, max_pixels: int) -> None:
    if height * width > max_pixels:
        raise DecodeError(
            "too_large", f"header says {width}x{height} pixels, over the {max_pixels}-pixel limit (decompression bomb?)"
        )


def _jpeg_failure(data: bytes, err: Exception) -> DecodeError:
    text = str(err)
    # A file cut short lacks the end-of-image marker; libjpeg says "Premature end" when the
    # header survived, and fails in the header parser otherwise.
    if "Premature end" in text or _JPEG_EOI not in data[-64:]:
        return DecodeError("truncated", f"JPEG data ends before the image does (libjpeg: {text})")
    return DecodeError("corrupt", f"corrupt JPEG data (libjpeg: {text})")


def _decode_jpeg(data: bytes, min_size: int | None, into: np.ndarray | None) -> np.ndarray:
    scale = {"min_height": min_size, "min_width": min_size} if min_size else {}
    if into is not None and into.shape[:2] != tuple(jpeg_header(data, **scale)[:2]):
        into = None
    try:
        # strict: a recoverable libjpeg warning (e.g. missing data) is an error, not grey pixels.
        return _simplejpeg().decode_jpeg(data, colorspace="RGB", strict=True, buffer=into, **scale)
    except ValueError as err:
        raise _jpeg_failure(data, err) from None


@contextmanager
def _pillow_errors(fmt: str):
    """Pillow's exceptions as DecodeErrors."""
    try:
        yield
    except DecodeError:
        raise
    except Image.DecompressionBombError as err:
        raise DecodeError("too_large", str(err)) from None
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        if "truncated" in str(err) or isinstance(err, EOFError):
            raise DecodeError("truncated", f"{fmt} data ends before the image does (Pillow: {err})") from None
        raise DecodeError("corrupt", f"corrupt {fmt} data (Pillow: {err})") from None


def _decode_with_pillow(data: bytes, fmt: str, min_size: int | None) -> np.ndarray:
    with _pillow_errors(fmt), Image.open(io.BytesIO(data), formats=[fmt]) as im:
        if min_size and fmt == "JPEG":
            im.draft(None, (min_size, min_size))  # DCT scaling, as on the fast path
        im.load()
        return _pillow_to_rgb(im, fmt)


def _pillow_to_rgb(im: Image.Image, fmt: str) -> np.ndarray:
    if im.mode in _SIXTEEN_BIT_MODES:  # 16-bit grayscale PNG: keep the high byte
        gray = (np.asarray(im).astype(np.uint32) >> 8).clip(0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    try:
        return np.asarray(im.convert("RGB"))
    except ValueError as err:
        raise DecodeError("unsupported", f"{fmt} pixel mode {im.mode!r} has no RGB conversion ({err})") from None
