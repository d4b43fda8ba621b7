"""One chunk of ingest inputs (run in a worker): read, decode, find ROIs, crop, and one
manifest row per input. :func:`process_chunk` is what :func:`galaxyzoo.workflows.ingest.ingest`
runs on the CPU; :mod:`galaxyzoo.workflows.gpu_ingest` builds the same rows with the JPEGs
decoded and cropped on a GPU (and :func:`crop_blobs` for the rest)."""
from __future__ import annotations

import math
import mmap
import multiprocessing
import threading
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

from .. import ops
from ..data import fits
from ..data.decode import MAX_FILE_BYTES, decode_image, jpeg_header, read_bytes, sniff_format
from ..data.problems import shown
from ..errors import DecodeError

if TYPE_CHECKING:
    from .ingest import IngestOptions


@dataclass
class Crops:
    """:func:`crop_blobs`' result: uint8 M×C×S×S crops of the M good inputs (in order), and per
    input its ROI box in original pixels, original and decoded (height, width), or its error."""

    pixels: np.ndarray
    boxes: list[list[int] | None]
    original: list[tuple[int, int] | None]
    decoded: list[tuple[int, int] | None]
    errors: list[DecodeError | None]


def crop_blobs(blobs: Sequence[bytes | DecodeError], opts: IngestOptions) -> Crops:
    """Encoded images (or the error reading them) → crops, one core, never raising for a bad one.

    JPEGs decode at the power-of-two DCT scale nearest above ``2 × size`` (``size`` with mode
    None); when the ROI found there is under ``size`` pixels, the file is decoded again at a
    scale that gives it ``size`` pixels, so crops are never upsampled from a needlessly coarse
    decode.
    """
    n = len(blobs)
    first_scale = opts.size if opts.mode is None else 2 * opts.size
    result = Crops(np.empty(0), [None] * n, [None] * n, [None] * n, [None] * n)
    # JPEGs decode straight into one batch per decoded shape, reused from chunk to chunk: no
    # stacking copy, and no fresh pages to fault in for every image (on the GZ2 sample, stacking
    # and page faults took a fifth of the time). Anything else decodes into an array of its own.
    plan = {i: _first_decode(blob, first_scale) for i, blob in enumerate(blobs) if isinstance(blob, bytes)}
    batches = _reused_batches(Counter(shape for _, shape in plan.values() if shape))
    in_batch: dict[tuple, list[int]] = {shape: [] for shape in batches}
    images: dict[int, np.ndarray] = {}
    for i, blob in enumerate(blobs):
        try:
            if isinstance(blob, DecodeError):
                raise blob
            min_size, shape = plan[i]
            into = batches[shape][len(in_batch[shape])] if shape else None
            images[i] = decode_image(blob, min_size, into=into)
            if into is not None and np.may_share_memory(images[i], into):  # decoded in place: keep the row
                in_batch[shape].append(i)
            result.original[i] = _original_size(blob, images[i])
        except DecodeError as err:
            result.errors[i] = err
    crops: dict[int, np.ndarray] = {}
    boxes: dict[int, np.ndarray] = {}
    groups = [(members, batches[shape][:len(members)]) for shape, members in in_batch.items() if members]
    batched = {i for members in in_batch.values() for i in members}
    loose: dict[tuple, list[int]] = {}
    for i, image in images.items():
        if i not in batched:
            loose.setdefault(image.shape, []).append(i)
    groups += [(members, np.stack([images[i] for i in members])) for members in loose.values()]
    for members, batch in groups:  # one native call per image size
        out, found = _crop(batch, opts)
        for j, i in enumerate(members):
            crops[i], boxes[i] = out[j], found[j]
    for i, image in images.items():
        side = max(boxes[i][2] - boxes[i][0], boxes[i][3] - boxes[i][1])
        if side < opts.size and min(image.shape[:2]) < min(result.original[i]):
            finer = math.ceil(min(image.shape[:2]) * opts.size / side)
            images[i] = decode_image(blobs[i], _fast_min_size(blobs[i], finer))
            out, found = _crop(images[i][None], opts)
            crops[i], boxes[i] = out[0], found[0]
    good = sorted(images)
    for i in good:
        result.decoded[i] = images[i].shape[:2]
        result.boxes[i] = to_original(boxes[i], result.decoded[i], result.original[i]).tolist()
    result.pixels = (np.stack([crops[i] for i in good]) if good
                     else np.empty((0, 3, opts.size, opts.size), np.uint8))
    return result


def _fast_min_size(data: bytes, wanted: int) -> int:
    """A ``min_size`` for :func:`decode_image` that lands on a power-of-two DCT scale (1/8,
    1/4, 1/2, 1) at least ``wanted`` pixels: libjpeg-turbo's other scales (3/8, 5/8...) are
    slower, 3/8 even slower than 1/2."""
    if sniff_format(data) != "jpeg":
        return wanted
    try:
        side = min(jpeg_header(data)[:2])
    except ValueError:
        return wanted  # decode_image reports what is wrong with it
    for denominator in (8, 4, 2):
        if -(-side // denominator) >= wanted:
            return -(-side // denominator)
    return side


def _original_size(data: bytes, decoded: np.ndarray) -> tuple[int, int]:
    if sniff_format(data) == "jpeg":  # the only format decoded at a reduced scale
        return tuple(jpeg_header(data)[:2])
    return decoded.shape[:2]


def to_original(boxes: np.ndarray, decoded: tuple[int, int], original: tuple[int, int]) -> np.ndarray:
    """Boxes (x0, y0, x1, y1) found on a scaled decode, in the original image's pixels."""
    sy, sx = original[0] / decoded[0], original[1] / decoded[1]
    scaled = np.asarray(boxes, np.float64) * np.array([sx, sy, sx, sy])
    return np.rint(scaled).astype(np.int64)


def _crop(batch: np.ndarray, opts: IngestOptions) -> tuple[np.ndarray, np.ndarray]:
    """``ops.preprocess`` on an N×H×W×3 batch: uint8 N×C×S×S crops and boxes on the decode."""
    out, boxes = ops.preprocess(batch, opts.size, mode=opts.mode, threshold=opts.threshold,
                                pad=opts.pad, out_dtype="uint8", num_threads=1, return_boxes=True)
    return out.numpy(), boxes.numpy()


def _first_decode(blob: bytes, wanted: int) -> tuple[int, tuple[int, int] | None]:
    """(``min_size`` of the first decode, the (height, width) a JPEG decodes to with it, or None
    when it is not a JPEG or its header does not say)."""
    min_size = _fast_min_size(blob, wanted)
    if sniff_format(blob) != "jpeg":
        return min_size, None
    try:
        return min_size, tuple(jpeg_header(blob, min_height=min_size, min_width=min_size)[:2])
    except ValueError:
        return min_size, None


_batches = threading.local()  # per thread of each process: crop_blobs runs in GPU ingest's two threads too


def _reused_batches(counts: Counter) -> dict[tuple, np.ndarray]:
    """An uninitialised uint8 batch of at least ``counts[shape]`` H×W×3 images per (H, W) shape,
    the ones of the previous call where they are large enough; batches of shapes not asked for
    are let go."""
    kept = getattr(_batches, "by_shape", {})
    fresh = {}
    for shape, count in counts.items():
        batch = kept.get(shape)
        fresh[shape] = batch if batch is not None and len(batch) >= count else np.empty((count, *shape, 3), np.uint8)
    _batches.by_shape = fresh
    return fresh


def crop_blobs_roi(blobs: Sequence[bytes | DecodeError], opts: IngestOptions) -> Crops:
    """:func:`crop_blobs` through :mod:`galaxyzoo.data.roi_decode` (what it cannot decode: crop_blobs)."""
    from ..data.roi_decode import crop_with_fallback
    return Crops(*crop_with_fallback(blobs, opts.size, opts.mode, opts.threshold, opts.pad,
                                     lambda rest: crop_blobs(rest, opts)))


def read_input(path: str) -> bytes | DecodeError:
    """A file's bytes, or the DecodeError reading it (missing, unreadable, too large)."""
    try:
        return read_bytes(path, MAX_FILE_BYTES)
    except DecodeError as err:
        return err


def process_chunk(items: list[tuple[str, str]], opts: IngestOptions,
                  slot: int | None = None) -> tuple[np.ndarray | int, list[list]]:
    """Read, decode and crop ``items`` ((id, path) pairs): the crops of the good ones, in
    order, and one manifest row per item (shard and index are filled in at commit). With a
    ``slot`` of :class:`CropSlots` this process shares, the crops are written there and their
    number returned in their place."""
    blobs = [read_input(path) for _, path in items]
    pixels, rows = chunk_result(items, blobs, (crop_blobs_roi if opts.decoder == "roi" else crop_blobs)(blobs, opts))
    if slot is None or _shared_slots is None:
        return pixels, rows
    _shared_slots[slot, :len(pixels)] = pixels
    return len(pixels), rows


# The slots of the CropSlots made before this (worker) process was forked from the ingesting one.
_shared_slots: np.ndarray | None = None
_MAX_SLOT_BYTES = 256 << 20


class CropSlots:
    """Where forked worker processes put the crops of the chunks in flight, instead of sending
    them back through the result pipe (a 64-px chunk's 3 MB crossed it 64 KiB at a time, each
    piece a copy and a wake-up of the ingesting process): one slot per chunk in flight, in an
    anonymous shared mapping that the workers inherit. Use as a context manager around the
    worker pool's life; :meth:`make` gives None where workers are not forked or the slots would
    take over 256 MiB, and the crops then travel as before."""

    def __init__(self, count: int, chunk_size: int, size: int):
        self.buffer = mmap.mmap(-1, count * chunk_size * 3 * size * size)  # MAP_SHARED | MAP_ANONYMOUS
        self.slots = np.frombuffer(self.buffer, np.uint8).reshape(count, chunk_size, 3, size, size)
        self.free = list(range(count))

    @classmethod
    def make(cls, count: int, chunk_size: int, size: int) -> CropSlots | None:
        if multiprocessing.get_start_method() != "fork" or count * chunk_size * 3 * size * size > _MAX_SLOT_BYTES:
            return None
        return cls(count, chunk_size, size)

    def __enter__(self) -> CropSlots:
        global _shared_slots
        _shared_slots = self.slots  # before the pool forks its workers
        return self

    def __exit__(self, *exc) -> None:
        global _shared_slots
        _shared_slots = None

    def take(self) -> int:
        return self.free.pop()

    def give_back(self, slot: int, pixels: np.ndarray | int) -> np.ndarray:
        """The crops a worker returned for ``slot`` (a copy out of it, where it wrote them there),
        and the slot free again."""
        self.free.append(slot)
        return self.slots[slot, :pixels].copy() if isinstance(pixels, int) else pixels


def chunk_result(items: list[tuple[str, str]], blobs: Sequence[bytes | DecodeError],
                 crops: Crops) -> tuple[np.ndarray, list[list]]:
    """:func:`process_chunk`'s result from the items, their bytes and :class:`Crops` of them."""
    rows = []
    for i, (ident, path) in enumerate(items):
        err, ident, path = crops.errors[i], shown(ident), shown(path)  # names as written (UTF-8)
        if err is not None:
            message = str(err) if path in str(err) else f"{path}: {err}"
            rows.append([ident, path, "", -1] + [""] * 8 + ["error", err.reason, message])
        else:
            rows.append([ident, path, "", -1, *crops.boxes[i], *crops.original[i], *crops.decoded[i],
                         "ok", "", ""] + _radec_cells(blobs[i]))
    return crops.pixels, rows


def _radec_cells(blob: bytes) -> list[str]:
    """A FITS cutout's centre (ra, dec in degrees, "" without a WCS) as two trailing manifest
    cells; nothing for other formats (a manifest has ra/dec columns only with FITS inputs)."""
    if not fits.is_fits(blob):
        return []
    return ["" if math.isnan(v) else f"{v:.7f}" for v in fits.fits_radec(blob)]
