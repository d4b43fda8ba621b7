"""Survey-scale ingestion: a folder (or catalog) of image files → uint8 crop shards + a manifest.

Inputs are taken in a deterministic order (a sorted, streaming directory walk, or catalog row
order) and cut into shards of ``shard_size`` inputs. Shard ``k`` is two files written
atomically: ``shard-0000k.npy`` (uint8 M×C×S×S crops of its M good inputs, memory-mappable)
and then ``shard-0000k.csv`` (one manifest row per input of the shard, good or bad). A shard is
done exactly when its CSV exists and lists the same input paths, so a killed run resumes by
skipping done shards. ``manifest.csv`` (and ``manifest.parquet`` when pyarrow is importable)
is assembled from the parts at the end.

Each JPEG is decoded at a power-of-two DCT scale (libjpeg-turbo) of at least ``2 × size`` pixels, then the
native ``preprocess`` op finds the ROI and area-resizes it; when the ROI found there is smaller
than ``size`` pixels the file is decoded again at a scale that gives the ROI at least ``size``
pixels. Boxes in the manifest are in the original image's pixel coordinates. That per-chunk
work is :mod:`galaxyzoo.workflows.ingest_chunk`; with ``device="cuda"`` the chunks run in this
process with their JPEGs decoded and cropped on the GPU (:mod:`galaxyzoo.workflows.gpu_ingest`).
"""
from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import time
from collections import Counter, deque
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from itertools import count, islice
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
from tqdm.auto import tqdm

from ..atomic import atomic_write_json
from ..data.problems import shown
from ..data.shards import (MANIFEST_COLUMNS, file_stamps, manifest_frame, remove_shards_from, shard_name,
                           stamps_name, write_manifest, write_shard_npy)
from ..data.tables import read_table, write_table
from ..errors import UserError
from . import guards
from .gpu_ingest import chunk_function
from .ingest_chunk import CropSlots, Crops, crop_blobs, crop_blobs_roi, process_chunk, to_original  # noqa: F401 (re-exported)

STATUS, ERROR = MANIFEST_COLUMNS.index("status"), MANIFEST_COLUMNS.index("error")
OPTIONS_FILE = "ingest.json"
# Test hook: exit abruptly (no cleanup) right after committing this many shards.
STOP_AFTER_ENV = "GALAXYZOO_INGEST_STOP_AFTER_SHARDS"


@dataclass(frozen=True)
class IngestOptions:
    """What the crops are; a resumed ingest must use the same values."""

    size: int = 64
    mode: str | None = "central"
    threshold: int | str = "auto"
    pad: float = 0.1
    shard_size: int = 4096
    decoder: str = "full"  # "roi": galaxyzoo.data.roi_decode (not byte-identical to "full")
    device: str = "cpu"  # "cuda": galaxyzoo.workflows.gpu_ingest (the CPU's rows, boxes within a tolerance)

    def __post_init__(self) -> None:
        if self.size < 1 or self.shard_size < 1:
            raise UserError("size and shard_size must be >= 1")
        if self.decoder not in ("full", "roi"): raise UserError(f"decoder must be 'full' or 'roi', got {self.decoder!r}")  # noqa: E701
        if self.device not in ("cpu", "cuda"): raise UserError(f"device must be 'cpu' or 'cuda', got {self.device!r}")  # noqa: E701
        if self.device != "cpu" and self.decoder != "full": raise UserError("the roi decoder runs on the CPU: use device 'cpu' with it")  # noqa: E701


@dataclass
class IngestSummary:
    out: Path
    inputs: int = 0
    ok: int = 0
    errors: Counter = field(default_factory=Counter)
    shards_written: int = 0
    shards_skipped: int = 0
    processed: int = 0  # inputs decoded in this run (not in shards already done)
    seconds: float = 0.0

    def count(self, outcomes: Iterable[str]) -> None:
        """Add inputs by outcome: ``"ok"`` or an error reason."""
        for outcome in outcomes:
            if outcome == "ok":
                self.ok += 1
            else:
                self.errors[outcome] += 1

    @property
    def images_per_s(self) -> float:
        return self.processed / self.seconds if self.seconds > 0 else 0.0

    def __str__(self) -> str:
        errs = ", ".join(f"{r}: {n}" for r, n in sorted(self.errors.items())) or "none"
        return (f"{self.inputs} inputs in {self.shards_written + self.shards_skipped} shard(s) "
                f"({self.shards_written} written, {self.shards_skipped} already done) under {self.out}\n"
                f"ok: {self.ok}; errors: {errs}\n"
                f"{self.processed} decoded in this run: {self.images_per_s:.0f} images/s over {self.seconds:.1f} s")


# --- the run ------------------------------------------------------------------------------

def _finished_rows(out: Path, k: int, items: list[tuple[str, str]]) -> list[dict] | None:
    """Shard ``k``'s manifest rows when it is done for these inputs, else None."""
    part = out / f"{shard_name(k)}.csv"
    if not part.exists() or not (out / f"{shard_name(k)}.npy").exists():
        return None
    try:
        rows = read_table(part).to_dict("records")
    except (UserError, OSError):  # unreadable: do the shard again
        return None
    # A source that changed under this shard (added, removed, renamed or replaced: another
    # size or modification time) makes it stale: do it again.
    try:
        stamps = json.loads((out / stamps_name(k)).read_text())
    except (OSError, ValueError):
        return None
    same = [r.get("path") for r in rows] == [shown(p) for _, p in items] and stamps == file_stamps(p for _, p in items)
    return rows if same else None


def _commit_shard(out: Path, k: int, pixels: list[np.ndarray], rows: list[list], opts: IngestOptions) -> None:
    write_shard_npy(out / f"{shard_name(k)}.npy", [p for p in pixels if len(p)], (3, opts.size, opts.size))
    index = 0
    for row in rows:
        if row[STATUS] == "ok":
            row[2], row[3] = shard_name(k) + ".npy", index
            index += 1
    atomic_write_json(out / stamps_name(k), file_stamps(row[1] for row in rows))
    write_table(manifest_frame(rows), out / f"{shard_name(k)}.csv")  # marks it done


def _check_options(out: Path, opts: IngestOptions) -> None:
    path = out / OPTIONS_FILE
    current = {k: v for k, v in asdict(opts).items() if (k, v) not in (("decoder", "full"), ("device", "cpu"))}  # older ingests resume
    if path.exists():
        before = json.loads(path.read_text())
        if before != current:
            raise UserError(f"{out} holds an ingest made with {before}; these options are {current} "
                             "(use another --out, or the same options to resume)")
    else:
        atomic_write_json(path, current)


def _remove_stale_temporaries(out: Path) -> None:
    """Temporary files a killed run left behind (never renamed, so never part of a result)."""
    for tmp in out.glob(".*.tmp"):
        tmp.unlink(missing_ok=True)


def ingest(
    inputs: Iterable[tuple[str, str]],
    out: str | os.PathLike,
    opts: IngestOptions = IngestOptions(),
    *,
    workers: int | None = None,
    chunk_size: int = 256,
    progress: bool = True,
    executor=None,
) -> IngestSummary:
    """Ingest (id, path) pairs into ``out``; resumable, never raises for a bad file.

    ``workers``: processes decoding and cropping in parallel (default: every core; 0 runs in
    this process). At most a few chunks per worker are in flight, so memory stays constant.
    ``executor``: run the chunks there instead (anything with ``concurrent.futures``'
    ``submit``, e.g. a Dask client's, see :mod:`galaxyzoo.dask_engine`); ``workers`` is then
    how many chunks it runs at once. Shards and the manifest are still written here, in order.
    ``opts.device="cuda"``: the chunks run in two threads of this process, decoded and cropped on
    the GPU (``workers`` does not apply, an ``executor`` is refused; see :mod:`.gpu_ingest`).
    """
    out = Path(out)
    work, workers = chunk_function(opts, workers, executor)  # an unusable device: UserError, nothing written
    with guards.output_lock(out, "ingest"):  # one writer per output folder
        _check_options(out, opts)
        _remove_stale_temporaries(out)
        workers = len(os.sched_getaffinity(0)) if workers is None else workers
        stop_after = int(os.environ.get(STOP_AFTER_ENV, "0") or 0)
        summary = IngestSummary(out)
        start = time.perf_counter()
        iterator = iter(inputs)
        shards: list[int] = []

        def chunks() -> Iterator[tuple[int, bool, list[tuple[str, str]]]]:
            """(shard, is the shard's last chunk, items) for every shard still to do."""
            for k in count():
                items = list(islice(iterator, opts.shard_size))
                if not items:
                    return
                shards.append(k)
                summary.inputs += len(items)
                done = _finished_rows(out, k, items)
                if done is not None:
                    summary.shards_skipped += 1
                    summary.count("ok" if r["status"] == "ok" else r["error"] for r in done)
                    continue
                for c in range(0, len(items), chunk_size):
                    yield k, c + chunk_size >= len(items), items[c:c + chunk_size]

        pixels: list[np.ndarray] = []
        rows: list[list] = []
        bar = tqdm(desc="ingest", unit="img", disable=not progress, smoothing=0.1)
        in_flight = 4 * max(workers, 1)
        slots = None
        if executor is not None:
            runner = contextlib.nullcontext(executor)
        elif opts.device != "cpu":  # two chunks at a time: one reads its files while the other is on the GPU
            runner = ThreadPoolExecutor(2, thread_name_prefix="gpu-ingest")
        elif workers > 0:
            runner = ProcessPoolExecutor(workers, initializer=_die_with_parent)
            slots = CropSlots.make(in_flight, chunk_size, opts.size)
        else:
            runner = _InProcess()
        with slots or contextlib.nullcontext(), runner as pool:
            pending: deque = deque()
            source = chunks()
            for k, last, items in source:
                slot = None if slots is None else slots.take()
                submitted = pool.submit(work, items, opts) if slot is None else pool.submit(work, items, opts, slot)
                pending.append((k, last, submitted, slot))
                if len(pending) >= in_flight:
                    _collect(pending.popleft(), slots, pixels, rows, summary, out, opts, bar, stop_after)
            while pending:
                _collect(pending.popleft(), slots, pixels, rows, summary, out, opts, bar, stop_after)
        bar.close()
        summary.seconds = time.perf_counter() - start
        removed = remove_shards_from(out, len(shards))  # inputs gone since the last run
        if summary.shards_written or removed or not (out / "manifest.csv").exists():
            write_manifest(out, shards)
        return summary


def _collect(entry, slots: CropSlots | None, pixels, rows, summary: IngestSummary, out: Path, opts: IngestOptions,
             bar, stop_after: int):
    k, last, future, slot = entry
    chunk_pixels, chunk_rows = future.result()
    if slot is not None:
        chunk_pixels = slots.give_back(slot, chunk_pixels)
    pixels.append(chunk_pixels)
    rows.extend(chunk_rows)
    summary.count("ok" if row[STATUS] == "ok" else row[ERROR] for row in chunk_rows)
    summary.processed += len(chunk_rows)
    bar.update(len(chunk_rows))
    if last:
        _commit_shard(out, k, pixels, rows, opts)
        pixels.clear()
        rows.clear()
        summary.shards_written += 1
        if stop_after and summary.shards_written >= stop_after:
            os._exit(3)


def _die_with_parent() -> None:
    """Worker initializer: a killed ingest takes its workers with it (Linux), instead of
    leaving them blocked on a queue nobody feeds."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: workers exit when their queue breaks
        pass
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)


class _InProcess:
    """``ProcessPoolExecutor``'s submit/result, run at once in this process (workers=0)."""

    class _Done:
        def __init__(self, value):
            self.value = value

        def result(self):
            return self.value

    def submit(self, fn, *args):
        return self._Done(fn(*args))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
