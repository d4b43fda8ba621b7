"""``ingest --device cuda``: each chunk's JPEGs decoded in one batch on the GPU (nvJPEG through
torchvision, :mod:`galaxyzoo.data.gpu_decode`), their ROIs found and crops cut there by
:mod:`galaxyzoo.ops`, and the uint8 crops copied to the host for the same shards and manifest
rows as the CPU path (:func:`galaxyzoo.workflows.ingest_chunk.process_chunk`). Chunks run in
two threads of the ingesting process, so that one chunk's files are read on the host while the
other is on the GPU (the nvJPEG calls themselves take turns, see gpu_decode).

Same rows as the CPU path. The CPU decodes a JPEG at a reduced DCT scale (a 424-px GZ2 image
at 1/2 for 64-px crops) and finds the ROI there; nvJPEG decodes at full scale. So the full
decode is rescaled on the device to exactly the size the CPU path decodes at (its
``decoded_height``/``decoded_width``, from the same DCT-scale choice), the ROI is found and
cropped there, boxes go back to original pixels with the same ``to_original``, and a ROI too
small for the crop is cut again from a finer resize, as the CPU path decodes again finer.
(:func:`~galaxyzoo.data.device_resize.jpeg_rescale`: at 1/2, libjpeg-turbo's reduced-scale
IDCT is close to the mean of the full IDCT's outputs, so the rescaled pixels are within a grey
level of the CPU's: 80% equal, mean difference 0.2 levels on the GZ2 sample). Ids, paths, statuses, error reasons and messages, original sizes and the number of
crops are the CPU's; boxes are not always: an ROI with ``threshold="auto"`` moves with single
grey levels. On 1000 GZ2 sample images (64-px crops, central ROI, auto threshold), boxes are
70% equal, 83% within 2 and 87% within 4 original pixels, 97% within 10% of the box's side;
0.4% of rows have the other decoded size (an ROI side at the cut-again-finer limit); crops
differ by 1.5 grey levels on average, most of it from the moved boxes. A one-level change of
20% of the CPU decode's own pixels moves its boxes as much (77%, 86%, 90% within 0, 2, 4
pixels). With a fixed threshold boxes agree better (30: 89% equal, 97% within 4); when the
CPU decodes at full scale (``size`` over a quarter of the image's side) rows are the same
where the decoders agree. These figures are with libjpeg's full decode in nvJPEG's place (no
GPU at hand; tests/test_gpu_ingest.py); nvJPEG's IDCT and chroma upsampling differ from
libjpeg's by a level or two (not measured: the gpu-marked test checks looser bounds).

What the GPU does not decode goes through the CPU path item by item, so every input still
gets exactly one row, the CPU's: unreadable files, PNG, FITS and anything not a JPEG, JPEGs
without their end-of-image marker (truncated: nvJPEG may fill them in where the strict CPU
decode fails them), and every JPEG the GPU decoder rejects (CMYK, corrupt, truncated...), so
that their error rows carry the CPU decoder's reason and message. Not caught: a complete
JPEG with corrupt entropy-coded data that nvJPEG decodes without complaint, where the CPU's
strict decode reports ``corrupt``, gets an ``ok`` row here.
"""
from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING, Callable, Optional, Sequence

import numpy as np
import torch

from .. import ops
from ..data.decode import jpeg_header
from ..data.device_resize import jpeg_rescale
from ..data.gpu_decode import Decoder, decode_jpegs, gpu_decodable, gpu_decode_available
from ..errors import UserError
from .ingest_chunk import Crops, _fast_min_size, chunk_result, crop_blobs, process_chunk, read_input, to_original

if TYPE_CHECKING:
    from .ingest import IngestOptions

_READ_THREADS = 8  # file reads on the host (I/O: threads are enough)
_GROUP = 64  # images resized and cropped per ops call (bounds the float copy of the resize)


def chunk_function(opts: IngestOptions, workers: Optional[int], executor) -> tuple[Callable, Optional[int]]:
    """(what processes a chunk, workers) for ``opts.device``: :func:`process_chunk` and
    ``workers`` on the CPU; :func:`process_chunk_gpu` in this process (0 workers) on CUDA, or
    a UserError that says why it cannot run here."""
    if opts.device == "cpu":
        return process_chunk, workers
    if executor is not None:
        raise UserError(f"ingest on {opts.device} runs in this process: it does not run on an executor "
                        "(--engine dask); use --engine local")
    ok, why = gpu_decode_available(opts.device)
    if not ok:
        raise UserError(f"cannot ingest on {opts.device}: {why} (the default, device cpu, needs no GPU)")
    return partial(process_chunk_gpu, device=opts.device), 0


def process_chunk_gpu(items: list[tuple[str, str]], opts: IngestOptions, *, device: str = "cuda",
                      decoder: Optional[Decoder] = None) -> tuple[np.ndarray, list[list]]:
    """:func:`process_chunk` with the JPEGs decoded and cropped on ``device`` (see the module
    docstring). ``decoder``: :func:`~galaxyzoo.data.gpu_decode.decode_jpegs`' (tests inject one
    and run it all on the CPU)."""
    with ThreadPoolExecutor(max(1, min(_READ_THREADS, len(items)))) as pool:
        blobs = list(pool.map(read_input, [path for _, path in items]))
    n = len(items)
    jpegs = [i for i, blob in enumerate(blobs) if gpu_decodable(blob)]
    got = decode_jpegs([blobs[i] for i in jpegs], device=device, decoder=decoder)
    images, sizes = {}, {}
    first = opts.size if opts.mode is None else 2 * opts.size
    for j, image in enumerate(got.images):
        i = jpegs[j]
        if image is not None:
            try:
                sizes[i] = (tuple(jpeg_header(blobs[i])[:2]), _decode_size(blobs[i], first))
            except ValueError:  # a header simplejpeg cannot read: the CPU path says what is wrong
                continue
            if sizes[i][0] == tuple(image.shape[:2]):
                images[i] = image
    result = Crops(np.empty(0), [None] * n, [None] * n, [None] * n, [None] * n)
    pixels: dict[int, np.ndarray] = {}
    rest = [i for i in range(n) if i not in images]
    if rest:  # the CPU path for what the GPU did not decode: the CPU's rows for them
        cpu = crop_blobs([blobs[i] for i in rest], opts)
        good = iter(cpu.pixels)
        for j, i in enumerate(rest):
            result.boxes[i], result.original[i], result.decoded[i] = cpu.boxes[j], cpu.original[j], cpu.decoded[j]
            result.errors[i] = cpu.errors[j]
            if cpu.errors[j] is None:
                pixels[i] = next(good)
    if images:
        _crop_decoded(images, {i: sizes[i] for i in images}, blobs, opts, result, pixels)
    order = sorted(pixels)
    result.pixels = (np.stack([pixels[i] for i in order]) if order
                     else np.empty((0, 3, opts.size, opts.size), np.uint8))
    return chunk_result(items, blobs, result)


def _decode_size(blob: bytes, wanted: int) -> tuple[int, int]:
    """The (height, width) the CPU path decodes this JPEG at when it wants ``wanted`` pixels:
    :func:`~galaxyzoo.data.decode.decode_image` with ``_fast_min_size``'s DCT scale."""
    side = _fast_min_size(blob, wanted)
    return tuple(jpeg_header(blob, min_height=side, min_width=side)[:2])


def _crop_decoded(images: dict, sizes: dict, blobs: Sequence[bytes], opts: IngestOptions, result: Crops,
                  pixels: dict) -> None:
    """Crops and boxes of the GPU-decoded images into ``result`` and ``pixels``, as
    :func:`~galaxyzoo.workflows.ingest_chunk.crop_blobs` makes them from its decodes."""
    decoded = {i: sizes[i][1] for i in images}
    found = _crop_resized(images, decoded, opts)
    finer = {}
    for i, (_, box) in found.items():
        side = max(box[2] - box[0], box[3] - box[1])
        if side < opts.size and min(decoded[i]) < min(sizes[i][0]):  # as crop_blobs: cut again finer
            finer[i] = _decode_size(blobs[i], math.ceil(min(decoded[i]) * opts.size / side))
    if finer:
        found.update(_crop_resized({i: images[i] for i in finer}, finer, opts))
        decoded.update(finer)
    for i, (crop, box) in found.items():
        pixels[i] = crop
        result.original[i], result.decoded[i] = sizes[i][0], decoded[i]
        result.boxes[i] = to_original(box, decoded[i], sizes[i][0]).tolist()


def _crop_resized(images: dict, decoded: dict, opts: IngestOptions) -> dict:
    """{index: (uint8 C×S×S crop, box on the resized image)}: each H×W×3 image rescaled to
    its ``decoded`` size, then ``ops.preprocess``, a batch per (size, decoded size)."""
    groups: dict[tuple, list[int]] = {}
    for i, image in images.items():
        groups.setdefault((tuple(image.shape), decoded[i]), []).append(i)
    found = {}
    for (shape, size), members in groups.items():
        for start in range(0, len(members), _GROUP):
            part = members[start:start + _GROUP]
            batch = torch.stack([images[i] for i in part])
            if size != shape[:2]:
                batch = jpeg_rescale(batch, size)
            crops, boxes = ops.preprocess(batch, opts.size, mode=opts.mode, threshold=opts.threshold, pad=opts.pad,
                                          out_dtype="uint8", num_threads=1, return_boxes=True)
            crops, boxes = crops.cpu().numpy(), boxes.cpu().numpy()
            found.update((i, (crops[j], boxes[j])) for j, i in enumerate(part))
    return found

