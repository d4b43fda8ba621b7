"""JPEG files → uint8 H×W×3 CUDA tensors, decoded in batches on the GPU (nvJPEG via torchvision).

:func:`decode_jpegs` reads the files on the host (:func:`galaxyzoo.data.decode.read_bytes`, with
its limits), checks each JPEG header (size against ``max_pixels``, 1 or 3 components) and
decodes all of them in one ``torchvision.io.decode_jpeg(list_of_uint8_tensors, device="cuda")``
call. A file that cannot be read or decoded becomes an error entry with a one-line reason
(a :class:`~galaxyzoo.errors.DecodeError`, reasons as in ``DECODE_REASONS``), never an
exception for the batch: when the batched call fails, which one bad file is enough for, the
batch is decoded again item by item, so that only the bad files fail. ``"unsupported"`` items
(PNG, CMYK JPEG) decode on the CPU with :func:`galaxyzoo.data.decode.read_image`.

torchvision is imported lazily (galaxyzoo does not depend on it); :func:`gpu_decode_available`
says whether this machine can decode on the GPU and, if not, why.

Feeding ops' CUDA crop: the pixels never visit the host::

    got = decode_jpegs(paths)                         # got.errors: [(index, DecodeError)]
    images, rows, sizes = to_batch(got.images)        # N'×H×W×3 uint8 on the GPU
    x = ops.preprocess(images, 64, angles=angles[rows])   # find_roi + crop_resize on the device

``rows`` maps batch rows back to ``paths`` (failed items are left out). Images of one size
(GZ2: all 424×424) are stacked as they are; mixed sizes are zero-padded at the bottom and
right to the largest, so pass ``ops.crop_resize`` boxes inside each image's own
``(0, 0, w, h)`` (from ``sizes``) rather than running ``find_roi`` over the padding.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence, Union

import torch

from ..errors import DecodeError
from .decode import MAX_FILE_BYTES, MAX_PIXELS, read_bytes, sniff_format

Source = Union[str, os.PathLike, bytes]
# (encoded files as 1-D uint8 CPU tensors, device) -> one 3×H×W uint8 tensor per file.
Decoder = Callable[[list, str], Sequence[torch.Tensor]]

# torchvision.io.decode_jpeg takes a list of files and device="cuda" (batched nvJPEG) from 0.19.
_MIN_TORCHVISION = (0, 19)
_JPEG_EOI = b"\xff\xd9"
_MAX_REASON = 300


@dataclass
class GpuDecoded:
    """One H×W×3 uint8 tensor per source (None where it failed) and the failures."""

    images: list = field(default_factory=list)
    errors: list = field(default_factory=list)  # [(index, DecodeError)], by index


def gpu_decode_available(device: str = "cuda") -> tuple[bool, str]:
    """(True, what decodes) or (False, why not): torchvision with a batched GPU decode_jpeg,
    and a CUDA device."""
    try:
        import torchvision
        from torchvision.io import decode_jpeg  # noqa: F401
    except ImportError as err:
        return False, f"torchvision is not installed or has no decode_jpeg ({_one_line(err)})"
    except Exception as err:  # a torchvision built for another torch fails while registering ops
        return False, f"torchvision does not import: {_one_line(err)}"
    version = getattr(torchvision, "__version__", "0")
    if _version(version) < _MIN_TORCHVISION:
        return False, f"torchvision {version} cannot decode a batch on the GPU (needs 0.19 or later)"
    if torch.device(device).type != "cuda" or not torch.cuda.is_available():
        return False, f"no CUDA device for {device!r} (torch.cuda.is_available() is {torch.cuda.is_available()})"
    return True, f"torchvision {version} decode_jpeg (nvJPEG) on {device}"


def decode_jpegs(
    sources: Sequence[Source],
    *,
    device: str = "cuda",
    decoder: Optional[Decoder] = None,
    max_pixels: int = MAX_PIXELS,
    max_bytes: int = MAX_FILE_BYTES,
    num_threads: int = 1,
) -> GpuDecoded:
    """Decode JPEG files (paths or their bytes) on ``device``; see the module docstring.

    ``decoder`` replaces torchvision's (tests inject a fake one). Without it, raises
    RuntimeError when :func:`gpu_decode_available` says no: that is the machine, not a file.
    """
    if decoder is None:
        ok, why = gpu_decode_available(device)
        if not ok:
            raise RuntimeError(f"GPU JPEG decoding is not available: {why}")
        decoder = _torchvision_decode
    with ThreadPoolExecutor(max(1, num_threads)) as pool:
        read = list(pool.map(lambda src: _read(src, max_pixels, max_bytes), sources))
    result = GpuDecoded(images=[None] * len(sources))
    todo = []
    for i, item in enumerate(read):
        if isinstance(item, DecodeError):
            result.errors.append((i, item))
        else:
            todo.append((i, item))
    for i, out in _decode_all(todo, decoder, device):
        if isinstance(out, DecodeError):
            result.errors.append((i, _named(sources[i], out)))
        else:
            result.images[i] = out
    result.errors.sort(key=lambda e: e[0])
    return result


def gpu_decodable(blob) -> bool:
    """Bytes of a JPEG that ends with its end-of-image marker: worth a GPU decode (nvJPEG may
    fill in a truncated JPEG that the host's strict decode fails, so those stay on the host)."""
    return isinstance(blob, bytes) and sniff_format(blob) == "jpeg" and _JPEG_EOI in blob[-64:]


def to_batch(images: Sequence[Optional[torch.Tensor]]) -> tuple[torch.Tensor, list[int], torch.Tensor]:
    """(N'×H×W×3 batch, source index of each row, N'×2 int64 (height, width) of each image)
    from :attr:`GpuDecoded.images`, None entries left out; zero-padded when sizes differ. With
    nothing decoded, an empty 0×0×0×3 batch on the CPU."""
    rows = [i for i, im in enumerate(images) if im is not None]
    kept = [images[i] for i in rows]
    sizes = torch.tensor([tuple(im.shape[:2]) for im in kept], dtype=torch.int64).reshape(-1, 2)
    if not kept:
        return torch.empty((0, 0, 0, 3), dtype=torch.uint8), rows, sizes
    if len({tuple(im.shape) for im in kept}) == 1:
        return torch.stack(kept), rows, sizes
    h, w = (int(v) for v in sizes.max(0).values)
    batch = torch.zeros((len(kept), h, w, 3), dtype=torch.uint8, device=kept[0].device)
    for row, im in enumerate(kept):
        batch[row, : im.shape[0], : im.shape[1]] = im
    return batch, rows, sizes


# --- host side: read and check --------------------------------------------------------------

def _read(src: Source, max_pixels: int, max_bytes: int):
    """(bytes as a uint8 tensor, (height, width), whether it ends with the end-of-image marker)
    of one JPEG, or its DecodeError."""
    try:
        data = bytes(src) if isinstance(src, (bytes, bytearray, memoryview)) else read_bytes(src, max_bytes)
        if not data:
            raise DecodeError("empty", "zero-byte file")
        kind = sniff_format(data)
        if kind != "jpeg":
            if kind == "png":
                raise DecodeError("unsupported", "a PNG: GPU decoding takes JPEGs (decode it on the CPU)")
            raise DecodeError("not_an_image", f"not a JPEG file (starts with {bytes(data[:8])!r})")
        height, width, components = _jpeg_frame(data)
        if height * width > max_pixels:
            raise DecodeError("too_large", f"header says {width}x{height} pixels, over the {max_pixels}-pixel limit")
        if components not in (1, 3):
            raise DecodeError("unsupported", f"a {components}-component (CMYK/YCCK) JPEG: decode it on the CPU")
    except DecodeError as err:
        return err if isinstance(src, (bytes, bytearray, memoryview)) else _named(src, err)
    return torch.frombuffer(bytearray(data), dtype=torch.uint8), (height, width), _JPEG_EOI in data[-64:]


def _jpeg_frame(data: bytes) -> tuple[int, int, int]:
    """(height, width, components) from the JPEG's frame header (SOFn), without decoding."""
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            break
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # no length
            pos += 2
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if pos + 10 > len(data):
                break
            return (int.from_bytes(data[pos + 5 : pos + 7], "big"), int.from_bytes(data[pos + 7 : pos + 9], "big"),
                    data[pos + 9])
        if marker in (0xD9, 0xDA) or length < 2:  # end of image or scan data before any frame
            break
        pos += 2 + length
    raise _failure(_JPEG_EOI in data[-64:], "no frame header (SOF) before the data ends")


# --- device side: decode ---------------------------------------------------------------------

def _decode_all(todo: list, decoder: Decoder, device: str) -> list:
    """[(index, H×W×3 tensor or DecodeError)]: one batched call, item by item if it fails."""
    if not todo:
        return []
    try:
        outs = list(decoder([item[0] for _, item in todo], device))
        if len(outs) != len(todo):
            raise RuntimeError(f"the decoder returned {len(outs)} images for {len(todo)} files")
    except Exception:  # one bad file fails the whole call (nvJPEG): find the bad ones
        return [(i, _decode_one(item, decoder, device)) for i, item in todo]
    return [(i, _checked(out, item[1])) for (i, item), out in zip(todo, outs)]


def _decode_one(item: tuple, decoder: Decoder, device: str):
    data, size, ended = item
    try:
        outs = list(decoder([data], device))
    except torch.cuda.OutOfMemoryError:  # the device's state, not the file's (sizes are checked)
        raise
    except Exception as err:
        return _failure(ended, f"nvJPEG: {_one_line(err)}")
    if len(outs) != 1:
        return DecodeError("corrupt", f"the decoder returned {len(outs)} images for one file")
    return _checked(outs[0], size)


def _checked(out, size: tuple[int, int]):
    """The decoder's 3×H×W output as an H×W×3 view, or a DecodeError when it is not that."""
    want = (3, *size)
    if not isinstance(out, torch.Tensor) or out.dtype != torch.uint8 or tuple(out.shape) != want:
        got = f"{getattr(out, 'dtype', type(out).__name__)} {tuple(getattr(out, 'shape', ()))}"
        return DecodeError("corrupt", f"the decoder gave {got} for this JPEG, not uint8 {want}")
    return out.permute(1, 2, 0)


_TORCHVISION_DECODER = threading.Lock()


def _torchvision_decode(datas: list, device: str) -> list:
    """torchvision's batched nvJPEG decode, one call at a time (it keeps one decoder per process),
    after the caller's stream is idle: its decoder allocates the outputs on the caller's stream
    but writes them from a stream of its own, so a block freed while queued kernels still read
    it could be overwritten (pytorch/vision#9606). One sync per batch of files."""
    from torchvision.io import ImageReadMode, decode_jpeg

    with _TORCHVISION_DECODER:
        torch.cuda.current_stream(device).synchronize()
        return decode_jpeg(datas, mode=ImageReadMode.RGB, device=device)


# --- helpers ---------------------------------------------------------------------------------

def _failure(ended: bool, message: str) -> DecodeError:
    """Truncated when the end-of-image marker is missing (the file was cut short), else corrupt."""
    if not ended:
        return DecodeError("truncated", f"JPEG data ends before the image does ({message})")
    return DecodeError("corrupt", f"corrupt JPEG data ({message})")


def _named(src: Source, err: DecodeError) -> DecodeError:
    if isinstance(src, (bytes, bytearray, memoryview)) or str(err).startswith(os.fspath(src)):
        return err
    return DecodeError(err.reason, f"{os.fspath(src)}: {err}")


def _one_line(err: BaseException) -> str:
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    text = lines[0] if lines else type(err).__name__
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 3] + "..."


def _version(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split("+")[0].split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)
