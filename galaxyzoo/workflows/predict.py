"""Run a trained model over images and write a catalog (CSV or Parquet), one row per input.

Inputs are image files, folders of them, catalog CSVs (one image per row) or folders written
by ``galaxyzoo ingest``. Files are decoded like the training images (square, at the training
image size), then preprocessed exactly as in training (the checkpoint records how); ingested
crops, already cut around their ROI, are only resized and normalised. An input that cannot be
read gets a row with ``status=error`` and the reason; it never stops the run. Several
checkpoints make an ensemble: the mean of their probabilities (vote fractions), each model
preprocessing the same decoded images its own way.
"""
from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from ..data.decode import load_batch
from ..data.catalogs import catalog_images
from ..data.inputs import IMAGE_SUFFIXES, expand_inputs
from ..data.problems import shown
from ..data.fits import fits_radec, fits_stem, is_fits_name
from ..data.tables import is_table_name, rows_frame, write_table
from ..data.preprocessing import Preprocessing
from ..data.shards import ShardDataset, is_shard_dir, read_manifest
from ..errors import UserError
from ..gz2.heads import outputs_fractions
from ..runtime import resolve_device
from ..specs import Task
from . import guards
from .checkpoint import load_model
from .batch_loading import DECODE_CHOICES, Loader, choose_loader, read_ahead  # noqa: F401 (DECODE_CHOICES: the CLI's)
from .inference import Checkpoints, check_ensemble, checkpoint_list, member_task, to_probabilities, tta_views

# A batch of inputs: their (id, path), the uint8 images (rows of failed items are unused),
# failures as index -> (reason, message), and whether the images are an ingest's crops, already
# cut around their ROI (each model then only resizes and normalises them).
# The images are a numpy array, or a tensor on the model's device when decoded on the GPU.
InputBatch = tuple[list[tuple[str, str]], np.ndarray | torch.Tensor, dict[int, tuple[str, str]], bool]


# Chunks: the unit of work, a few bytes to describe, so another process (a Dask worker) can
# read and predict it. Chunks hold whole batches, so any split predicts the same batches.
@dataclass(frozen=True)
class FileChunk:
    items: tuple[tuple[str, str], ...]  # (id, path)


@dataclass(frozen=True)
class ShardChunk:
    folder: str  # a `galaxyzoo ingest` output folder
    start: int  # manifest rows [start, stop)
    stop: int
    ok_before: int  # ok rows before ``start``: the shard dataset index of the chunk's first


Chunk = FileChunk | ShardChunk


def plan_chunks(inputs: Sequence[str | os.PathLike], *, chunk_size: int, mode: str | None = None,
                id_column: str = "GalaxyID", image_dir: str | os.PathLike | None = None,
                input_size: int | None = None) -> tuple[int, list[Chunk]]:
    """(number of inputs, chunks of at most ``chunk_size``) over image files, folders,
    catalog CSVs (one input per row, images in ``image_dir``, default the CSV's folder) and
    ingested shard folders, in order. ``mode``: the model's ROI mode, to warn about shards
    ingested with another."""
    files: list[tuple[str, str]] = []
    chunks: list[Chunk] = []
    total = 0

    def flush_files():
        chunks.extend(FileChunk(tuple(files[i:i + chunk_size])) for i in range(0, len(files), chunk_size))
        files.clear()

    for item in inputs:
        path = Path(item)
        if is_shard_dir(path):
            flush_files()
            options = json.loads((path / "ingest.json").read_text())
            if options["mode"] != mode:
                warnings.warn(f"{path} was ingested with ROI mode {options['mode']!r}, the model was "
                              f"trained with {mode!r}", stacklevel=3)
            if input_size is not None and options.get("size", input_size) < input_size:
                warnings.warn(f"{path} holds {options['size']}-px crops, the model takes {input_size} px: "
                              f"they are upscaled (ingest again with --size {input_size})", stacklevel=3)
            ok = np.cumsum([0] + [r["status"] == "ok" for r in read_manifest(path)])
            total += len(ok) - 1
            chunks += [ShardChunk(str(path), s, min(s + chunk_size, len(ok) - 1), int(ok[s]))
                       for s in range(0, len(ok) - 1, chunk_size)]
        elif is_table_name(path) and not is_fits_name(path) and path.is_file():  # a catalog, any table format
            rows = catalog_images(path, image_dir or path.parent, id_column)
            total += len(rows)
            files += rows
        else:
            found = [(fits_stem(p), str(p)) for p in expand_inputs([path])]  # a.fits.gz -> a
            total += len(found)
            files += found
    flush_files()
    return total, chunks


def chunk_batches(chunk: Chunk, size: int, *, batch_size: int, threads: int,
                  loader: Loader = load_batch) -> Iterator[InputBatch]:
    """Read and decode a chunk's inputs, ``batch_size`` at a time; files as ``size``-px squares
    by ``loader`` (the host's :func:`~galaxyzoo.data.decode.load_batch`, or the GPU's)."""
    if isinstance(chunk, FileChunk):
        for start in range(0, len(chunk.items), batch_size):
            items = list(chunk.items[start:start + batch_size])
            images, failures = loader([p for _, p in items], size, num_threads=threads)
            yield items, images, {i: (err.reason, str(err)) for i, err in failures}, False
        return
    manifest = os.stat(Path(chunk.folder) / "manifest.csv")
    data = _shard_dataset(chunk.folder, manifest.st_mtime_ns, manifest.st_size)
    next_ok = chunk.ok_before  # the manifest's ok rows are the dataset's samples, in order
    for start in range(chunk.start, chunk.stop, batch_size):
        rows = data.manifest[start:min(start + batch_size, chunk.stop)]
        ok = [j for j, r in enumerate(rows) if r["status"] == "ok"]
        images = np.zeros((len(rows), data.size, data.size, 3), np.uint8)
        if ok:
            images[ok] = data.read_images(range(next_ok, next_ok + len(ok)))
            next_ok += len(ok)
        failures = {j: (r["error"], r["message"]) for j, r in enumerate(rows) if r["status"] != "ok"}
        yield [(r["id"], r["path"]) for r in rows], images, failures, True


@functools.lru_cache(maxsize=4)
def _shard_dataset(folder: str, mtime_ns: int, size: int) -> ShardDataset:
    """Read a shard folder's manifest once per process, not once per chunk (a new ingest
    into the same folder changes the manifest's time and size, so it is read again)."""
    return ShardDataset(folder)


def _shared_for_prediction(meta) -> dict:
    """What ensemble members must share to predict the same decoded images: the task, the
    size files are decoded at, and the ROI mode (an ingest's shards are cut with one)."""
    return {**member_task(meta), "source size": meta["source_size"],
            "ROI mode": Preprocessing.from_dict(meta["preprocessing"]).mode}


@dataclass
class Member:
    """One model of a Predictor and how it preprocesses."""
    model: torch.nn.Module
    prep: Preprocessing
    fractions: bool  # its outputs already are vote fractions (a tree head)


class Predictor:
    """A checkpoint, or an ensemble of them, loaded for inference (weights read safely by
    ``load_model``): batches in, catalog rows out. An ensemble predicts the equal-weight mean of
    its members' probabilities (vote fractions), each member preprocessing the images as it
    was trained; members must share the task, source size and ROI mode. ``tta`` (1, 4 or 8):
    each member averages over that many right-angle rotations and horizontal flips, each made
    by the native preprocessing. ``decode``: where image files are decoded (see
    :func:`choose_loader`)."""

    def __init__(self, checkpoints: Checkpoints, device: str = "auto", tta: int = 1, decode: str = "auto"):
        self.views = tta_views(tta)
        self.device = resolve_device(device)
        self.loader = choose_loader(decode, self.device)
        loaded = [load_model(c, self.device) for c in checkpoint_list(checkpoints)]
        from .preflight import check_prediction; check_prediction(loaded)  # before any work
        check_ensemble([(directory, meta) for _, meta, directory in loaded], _shared_for_prediction)
        self.members = [Member(model, Preprocessing.from_dict(meta["preprocessing"]), outputs_fractions(model))
                        for model, meta, _ in loaded]
        meta = loaded[0][1]
        self.task = Task(**meta["task"])
        self.source_size = meta["source_size"]
        self.mode = self.members[0].prep.mode

    @torch.no_grad()
    def rows(self, batch: InputBatch) -> list[list]:
        items, images, failed, precut = batch
        dev, task = self.device, self.task
        ok = np.array([i not in failed for i in range(len(items))])
        probs = np.zeros((len(items), task.num_outputs), np.float32)
        if ok.any():
            if isinstance(images, torch.Tensor):  # decoded on the GPU
                x = images[torch.from_numpy(ok).to(images.device)].to(dev)
            else:
                x = torch.from_numpy(np.ascontiguousarray(images[ok])).to(dev)
            ensemble = sum(self._member_probabilities(m, x, precut) for m in self.members)
            probs[ok] = (ensemble / len(self.members)).cpu().numpy()
            failed = {**failed, **{int(i): ("non_finite", "the model's output is NaN or infinite")
                                   for i in np.flatnonzero(ok & ~np.isfinite(probs).all(axis=1))}}
        return [_row(task, ident, path, probs[i], f"{failed[i][0]}: {failed[i][1]}" if i in failed else "")
                for i, (ident, path) in enumerate(items)]

    def _member_probabilities(self, member: Member, x: torch.Tensor, precut: bool) -> torch.Tensor:
        """One member's probabilities for uint8 images ``x``, averaged over the views."""
        prep = replace(member.prep, mode=None) if precut else member.prep  # crops: only resized
        dev, summed = x.device, None
        for angle, flip in self.views:
            if (angle, flip) == (0, False):
                view = prep.apply(x)
            else:
                m = len(x)
                view = prep.apply(x, angles=torch.full((m,), float(angle), device=dev),
                                  flips=torch.full((m,), flip, device=dev))
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=dev.type == "cuda"):
                outputs = member.model(view.contiguous(memory_format=torch.channels_last))
            p = to_probabilities(outputs, self.task, fractions=member.fractions).float()
            summed = p if summed is None else summed + p
        return summed / len(self.views)

    def predict_chunk(self, chunk: Chunk, *, batch_size: int, threads: int) -> list[list]:
        """Catalog rows of one chunk, in input order."""
        return [row for batch in read_ahead(self.batches(chunk, batch_size=batch_size, threads=threads))
                for row in self.rows(batch)]

    def batches(self, chunk: Chunk, *, batch_size: int, threads: int) -> Iterator[InputBatch]:
        """A chunk's inputs decoded for this predictor's members (:func:`chunk_batches`)."""
        return chunk_batches(chunk, self.source_size, batch_size=batch_size, threads=threads, loader=self.loader)


@dataclass
class Catalog:
    path: Path
    rows: int
    errors: int
    frame: Any = None  # the catalog as written: a pandas DataFrame of text cells


# Catalog columns that stay text in Parquet; every other one is a number (float64).
TEXT_COLUMNS = ("id", "GalaxyID", "path", "status", "error", "predicted")


def _columns(task: Task) -> list[str]:
    if task.kind == "classification":
        return ["id", "path", "status", "error", "predicted"] + [f"prob_{c}" for c in task.outputs]
    # Kaggle submission format first (GalaxyID, Class1.1 ... Class11.6), then where and how.
    return ["GalaxyID", *task.outputs, "path", "status", "error"]


def _row(task: Task, ident: str, path: str, probs: np.ndarray | None, error: str) -> list:
    ident, path = shown(ident), shown(path)  # names that are not UTF-8: bytes as \xNN
    if task.kind == "classification":
        head = [ident, path, "error" if error else "ok", error]
        if error:
            return head + [""] * (1 + task.num_outputs)
        return head + [task.outputs[int(probs.argmax())]] + [f"{p:.6f}" for p in probs]
    values = [""] * task.num_outputs if error else [f"{p:.6f}" for p in probs]
    return [ident, *values, path, "error" if error else "ok", error]


def predict_files(
    checkpoint: Checkpoints,
    inputs: Sequence[str | os.PathLike],
    out: Path | str,
    *,
    batch_size: int = 64,
    device: str = "auto",
    threads: int | None = None,
    progress: bool = True,
    id_column: str = "GalaxyID",
    image_dir: str | os.PathLike | None = None,
    tta: int = 1,
    decode: str = "auto",
) -> Catalog:
    """Predict every input and write the catalog to ``out`` (CSV, or Parquet for a .parquet
    name; atomically). Inputs: image files, folders, catalog CSVs, ingested shard folders.

    ``tta`` (1, 4 or 8): average the probabilities (vote fractions) over that many right-angle
    rotations and horizontal flips, each made by the native preprocessing.

    ``decode``: ``"auto"`` decodes JPEG files on the GPU when the model runs on CUDA and
    torchvision can (same rows as the host's decode; pixels within a grey level), ``"cpu"``
    always on the host, ``"gpu"`` on the GPU or a UserError.

    ``checkpoint``: one, or a sequence of them, an ensemble (see :class:`Predictor`)."""
    with claim_output(out, inputs, batch_size) as out:
        return _predict_files(checkpoint, inputs, out, batch_size, device, threads, progress, id_column,
                              image_dir, tta, decode)


@contextlib.contextmanager
def claim_output(out: Path | str, inputs: Sequence[str | os.PathLike], batch_size: int = 1) -> Iterator[Path]:
    """The output checked (:func:`check_output`) and locked against a second writer, for the job."""
    out = check_output(out, inputs, batch_size)
    with guards.output_lock(out.parent, f"predict --out {out}", f".{out.name}.galaxyzoo.lock"):
        yield out


def check_output(out: Path | str, inputs: Sequence[str | os.PathLike], batch_size: int = 1) -> Path:
    """Refuse, before any work, an output that cannot be written or would replace an input."""
    out = Path(out)
    if batch_size < 1:
        raise UserError(f"batch size must be >= 1, got {batch_size}")
    if out.suffix.lower() in (*IMAGE_SUFFIXES, ".npy", ".json"):
        raise UserError(f"--out {out}: a catalog is written as .csv or .parquet, not {out.suffix}")
    if out.exists() and not out.is_file() or out.is_symlink():
        raise UserError(f"--out {out}: exists and is not a regular file")
    for item in inputs:
        if out.exists() and os.path.exists(item) and os.path.samefile(out, item):
            raise UserError(f"--out {out} is one of the inputs; it would be overwritten")
    if out.suffix.lower() == ".parquet":
        try:
            import pyarrow.parquet  # noqa: F401
        except ImportError:
            raise UserError("--out *.parquet needs pyarrow (pip install pyarrow), or give a .csv name") from None
    out.parent.mkdir(parents=True, exist_ok=True)
    return out


def _predict_files(checkpoint, inputs, out, batch_size, device, threads, progress, id_column, image_dir, tta,
                   decode):
    predictor = Predictor(checkpoint, device, tta, decode)
    threads = threads or min(len(os.sched_getaffinity(0)), 8)
    total, chunks = plan_chunks(inputs, chunk_size=64 * batch_size, mode=predictor.mode,
                                id_column=id_column, image_dir=image_dir,
                                input_size=max(m.prep.size for m in predictor.members))
    check_inputs(total)
    rows: list[list] = []
    bar = tqdm(total=total, desc="predict", unit="img", disable=not progress)
    for chunk in chunks:
        for batch in read_ahead(predictor.batches(chunk, batch_size=batch_size, threads=threads)):
            rows += predictor.rows(batch)
            bar.update(len(batch[0]))
    bar.close()
    return write_catalog(out, predictor.task, rows)


def check_inputs(total: int) -> None:
    if not total:
        raise UserError("no input images (folders are searched for .jpg, .jpeg, .png and FITS files)")


def write_catalog(out: Path | str, task: Task, rows: list[list]) -> Catalog:
    """Write catalog rows (in input order) to ``out``, CSV or Parquet, atomically; FITS
    inputs add ``ra`` and ``dec`` columns (see :func:`with_radec`)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame = with_radec(rows_frame(_columns(task), rows))
    try:
        write_table(frame, out, text_columns=TEXT_COLUMNS)
    except OSError as err:  # a full disk, a lost mount: the finished rows are not thrown away
        _save_partial(out, frame, err)
    return Catalog(out, len(frame), int((frame["status"] == "error").sum()), frame)


def with_radec(frame):
    """``ra`` and ``dec`` columns after ``path`` when any input is a FITS file: degrees of the
    cutout centre from the header's WCS, 7 decimals ("" without a WCS, or for a failed row)."""
    if not any(is_fits_name(p) for p in frame["path"]):
        return frame
    fits_rows = [ok == "ok" and is_fits_name(p) for p, ok in zip(frame["path"], frame["status"])]
    coords = [fits_radec(p) if is_fits else (math.nan, math.nan) for p, is_fits in zip(frame["path"], fits_rows)]
    at = list(frame.columns).index("path") + 1
    for k, name in enumerate(("ra", "dec")):
        frame.insert(at + k, name, ["" if math.isnan(c[k]) else f"{c[k]:.7f}" for c in coords])
    return frame


def _save_partial(out: Path, frame, err: OSError):
    """Write the rows a failed catalog write would lose to ``OUT.partial.csv`` (atomically),
    then raise a one-line error naming both files."""
    partial = out.with_name(out.name + ".partial.csv")
    why = err.strerror or err
    try:
        write_table(frame, partial)
    except OSError as again:
        raise UserError(f"--out {out}: cannot write the catalog ({why}), nor {partial} "
                        f"({again.strerror or again}): the {len(frame)} predictions are lost") from None
    raise UserError(f"--out {out}: cannot write the catalog ({why}); the {len(frame)} finished rows "
                    f"are saved in {partial}") from None
