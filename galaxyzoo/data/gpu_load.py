""":func:`load_batch_gpu`: :func:`galaxyzoo.data.decode.load_batch` with the JPEGs decoded on the
GPU, for ``predict --device cuda``: the batch never visits the host.

The host path decodes a JPEG at the smallest DCT scale whose sides reach ``size`` (a 424-px GZ2
image at 1/4 → 106 px for a 64-px model), then :func:`~galaxyzoo.data.decode.fit_square`. Here
nvJPEG decodes at full scale; the image is brought on the device to exactly the host's decoded size as that scale gives it
(:func:`~galaxyzoo.data.device_resize.jpeg_rescale`: within a quarter of a grey level on
average) and then squared by the bit-exact device copy of Pillow's resize
(:func:`~galaxyzoo.data.device_resize.fit_square`).

Everything the GPU does not decode takes the host path item by item, so failures carry the
host's reasons and messages: unreadable files, PNG, FITS and anything not a JPEG, JPEGs without
an end-of-image marker, CMYK, and every JPEG the GPU decoder rejects.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Optional, Sequence

import torch

from ..errors import DecodeError
from . import device_resize
from .decode import MAX_FILE_BYTES, MAX_PIXELS, Source, jpeg_header, load_batch, read_bytes
from .gpu_decode import Decoder, decode_jpegs, gpu_decodable


def load_batch_gpu(
    sources: Sequence[Source],
    size: int,
    *,
    device: str = "cuda",
    decoder: Optional[Decoder] = None,
    max_pixels: int = MAX_PIXELS,
    num_threads: int = 1,
) -> tuple[torch.Tensor, list[tuple[int, DecodeError]]]:
    """(uint8 N×size×size×3 tensor on ``device``, ``[(index, DecodeError)]``), as
    :func:`~galaxyzoo.data.decode.load_batch` returns on the host (failed rows are zero).
    ``decoder``: :func:`~galaxyzoo.data.gpu_decode.decode_jpegs`' (tests inject one)."""
    with ThreadPoolExecutor(max(1, min(num_threads, len(sources)))) as pool:
        blobs = list(pool.map(_read, sources))
    out = torch.zeros((len(sources), size, size, 3), dtype=torch.uint8, device=device)
    jpegs = [i for i, blob in enumerate(blobs) if gpu_decodable(blob)]
    got = decode_jpegs([blobs[i] for i in jpegs], device=device, decoder=decoder, max_pixels=max_pixels)
    groups: dict[tuple, list[int]] = {}  # (decoded shape, host's decode size) -> indices
    images = {}
    for j, image in enumerate(got.images):
        i = jpegs[j]
        if image is None:
            continue
        try:
            full = tuple(jpeg_header(blobs[i])[:2])
            scaled = tuple(jpeg_header(blobs[i], min_height=size, min_width=size)[:2])
        except ValueError:  # a header libjpeg-turbo's binding cannot read: the host path says why
            continue
        if full == tuple(image.shape[:2]):
            images[i] = image
            groups.setdefault((full, scaled), []).append(i)
    for (full, scaled), members in groups.items():
        batch = torch.stack([images[i] for i in members])
        if scaled != full:
            batch = device_resize.jpeg_rescale(batch, scaled)
        out[torch.tensor(members, device=device)] = device_resize.fit_square(batch, size)
    rest = [i for i in range(len(sources)) if i not in images]
    failures = []
    if rest:  # the host path, from the sources themselves: its rows and its error messages
        pixels, failed = load_batch([sources[i] for i in rest], size, max_pixels=max_pixels, num_threads=num_threads)
        out[torch.tensor(rest, device=device)] = torch.from_numpy(pixels).to(device)
        failures = [(rest[j], err) for j, err in failed]
    return out, sorted(failures, key=lambda f: f[0])


def _read(src: Source):
    """The file's bytes, or None where it cannot be read (the host path then reports it)."""
    if isinstance(src, (bytes, bytearray, memoryview)):
        return bytes(src)
    try:
        return read_bytes(src, MAX_FILE_BYTES)
    except (DecodeError, OSError, ValueError):  # ValueError: a path the OS refuses (an embedded NUL)
        return None
