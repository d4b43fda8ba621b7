"""Run a trained model over images and write a catalog (CSV or Parquet), one row per input.

Inputs are image files, folders of them, catalog CSVs (one image per row) or folders written
by ``galaxyzoo ingest``. Files are decoded like the training images (square, at the training
image size), then preprocessed exactly as in training (the checkpoint records how); ingested
crops, already cut around their ROI, are only resized and normalised. An input that cannot be
read gets a row with ``status=error`` and the reason; it never stops the run.
"""
from __future__ import annotations

import csv
import io
import itertools
import os
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from .checkpoint import atomic_write_bytes, load_model
from .data.decode import load_batch
from .data.pipeline import Preprocessing
from .data.shards import ShardDataset, is_shard_dir, read_manifest
from .evaluate import to_probabilities, tta_views
from .heads import outputs_fractions
from .ingest import catalog_images
from .specs import Task
from .train import resolve_device

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def expand_inputs(inputs: Iterable[str | os.PathLike]) -> list[Path]:
    """Files as given; folders replaced by their JPEG/PNG files (recursively, sorted)."""
    paths: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            paths += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            paths.append(path)  # a missing or bad file becomes an error row
    return paths


# A batch of inputs: their (id, path), the uint8 images (rows of failed items are unused),
# failures as index -> (reason, message), and how to preprocess the images.
InputBatch = tuple[list[tuple[str, str]], np.ndarray, dict[int, tuple[str, str]], Preprocessing]


def _file_batches(items: list[tuple[str, str]], size: int, prep: Preprocessing, batch_size: int,
                  threads: int) -> Iterator[InputBatch]:
    for start in range(0, len(items), batch_size):
        chunk = items[start:start + batch_size]
        images, failures = load_batch([p for _, p in chunk], size, num_threads=threads)
        yield chunk, images, {i: (err.reason, str(err)) for i, err in failures}, prep


def _shard_batches(folder: Path, prep: Preprocessing, batch_size: int) -> Iterator[InputBatch]:
    """An ingest's inputs in manifest order; its crops are already ROI-cropped (mode=None)."""
    data = ShardDataset(folder)
    if data.options["mode"] != prep.mode:
        warnings.warn(f"{folder} was ingested with ROI mode {data.options['mode']!r}, the model was "
                      f"trained with {prep.mode!r}", stacklevel=3)
    crops = replace(prep, mode=None)
    next_ok = 0  # the manifest's ok rows are the dataset's samples, in order
    for start in range(0, len(data.manifest), batch_size):
        chunk = data.manifest[start:start + batch_size]
        ok = [j for j, r in enumerate(chunk) if r["status"] == "ok"]
        images = np.zeros((len(chunk), data.size, data.size, 3), np.uint8)
        if ok:
            images[ok] = data.read_images(range(next_ok, next_ok + len(ok)))
            next_ok += len(ok)
        failures = {j: (r["error"], r["message"]) for j, r in enumerate(chunk) if r["status"] != "ok"}
        yield [(r["id"], r["path"]) for r in chunk], images, failures, crops


def input_batches(inputs: Sequence[str | os.PathLike], size: int, prep: Preprocessing, *,
                  batch_size: int, threads: int, id_column: str = "GalaxyID",
                  image_dir: str | os.PathLike | None = None) -> tuple[int, Iterator[InputBatch]]:
    """(number of inputs, batches) over image files, folders, catalog CSVs (one input per row,
    images in ``image_dir``, default the CSV's folder) and ingested shard folders, in order."""
    files: list[tuple[str, str]] = []
    parts: list[Iterator[InputBatch]] = []
    total = 0

    def flush_files():
        nonlocal files
        if files:
            parts.append(_file_batches(files, size, prep, batch_size, threads))
            files = []

    for item in inputs:
        path = Path(item)
        if is_shard_dir(path):
            flush_files()
            total += len(read_manifest(path))
            parts.append(_shard_batches(path, prep, batch_size))
        elif path.suffix.lower() == ".csv" and path.is_file():
            rows = list(catalog_images(path, image_dir or path.parent, id_column))
            total += len(rows)
            files += rows
        else:
            found = [(p.stem, str(p)) for p in expand_inputs([path])]
            total += len(found)
            files += found
    flush_files()
    return total, itertools.chain.from_iterable(parts)


@dataclass
class Catalog:
    path: Path
    rows: int
    errors: int


def _columns(task: Task) -> list[str]:
    if task.kind == "classification":
        return ["id", "path", "status", "error", "predicted"] + [f"prob_{c}" for c in task.outputs]
    # Kaggle submission format first (GalaxyID, Class1.1 ... Class11.6), then where and how.
    return ["GalaxyID", *task.outputs, "path", "status", "error"]


def _row(task: Task, ident: str, path: str, probs: np.ndarray | None, error: str) -> list:
    if task.kind == "classification":
        head = [ident, path, "error" if error else "ok", error]
        if error:
            return head + [""] * (1 + task.num_outputs)
        return head + [task.outputs[int(probs.argmax())]] + [f"{p:.6f}" for p in probs]
    values = [""] * task.num_outputs if error else [f"{p:.6f}" for p in probs]
    return [ident, *values, path, "error" if error else "ok", error]


def _write_table(out: Path, columns: list[str], rows: list[list]) -> None:
    """CSV, or Parquet when ``out`` ends in .parquet (numbers as float64, empty as null)."""
    if out.suffix.lower() != ".parquet":
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(columns)
        writer.writerows(rows)
        atomic_write_bytes(out, text.getvalue().encode())
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    text_columns = {"id", "GalaxyID", "path", "status", "error", "predicted"}
    arrays = {}
    for j, name in enumerate(columns):
        values = [r[j] for r in rows]
        arrays[name] = pa.array(values if name in text_columns
                                else [float(v) if v != "" else None for v in values], pa.string()
                                if name in text_columns else pa.float64())
    buf = pa.BufferOutputStream()
    pq.write_table(pa.table(arrays), buf)
    atomic_write_bytes(out, buf.getvalue().to_pybytes())


@torch.no_grad()
def predict_files(
    checkpoint: Path | str,
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
) -> Catalog:
    """Predict every input and write the catalog to ``out`` (CSV, or Parquet for a .parquet
    name; atomically). Inputs: image files, folders, catalog CSVs, ingested shard folders.

    ``tta`` (1, 4 or 8): average the probabilities (vote fractions) over that many right-angle
    rotations and horizontal flips, each made by the native preprocessing."""
    views = tta_views(tta)
    dev = resolve_device(device)
    model, meta, _ = load_model(checkpoint, dev)
    task = Task(**meta["task"])
    prep = Preprocessing.from_dict(meta["preprocessing"])
    threads = threads or min(len(os.sched_getaffinity(0)), 8)
    total, batches = input_batches(inputs, meta["source_size"], prep, batch_size=batch_size,
                                   threads=threads, id_column=id_column, image_dir=image_dir)
    if not total:
        raise ValueError("no input images (folders are searched for .jpg, .jpeg and .png files)")

    rows: list[list] = []
    errors = 0
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=dev.type == "cuda")
    bar = tqdm(total=total, desc="predict", unit="img", disable=not progress)
    for items, images, failed, batch_prep in batches:
        ok = np.array([i not in failed for i in range(len(items))])
        probs = np.zeros((len(items), task.num_outputs), np.float32)
        if ok.any():
            x = torch.from_numpy(np.ascontiguousarray(images[ok])).to(dev)
            summed = None
            for angle, flip in views:
                if (angle, flip) == (0, False):
                    view = batch_prep.apply(x)
                else:
                    m = len(x)
                    view = batch_prep.apply(x, angles=torch.full((m,), float(angle), device=dev),
                                            flips=torch.full((m,), flip, device=dev))
                with autocast:
                    outputs = model(view.contiguous(memory_format=torch.channels_last))
                p = to_probabilities(outputs, task, fractions=outputs_fractions(model)).float()
                summed = p if summed is None else summed + p
            probs[ok] = (summed / len(views)).cpu().numpy()
        for i, (ident, path) in enumerate(items):
            error = f"{failed[i][0]}: {failed[i][1]}" if i in failed else ""
            errors += bool(error)
            rows.append(_row(task, ident, path, probs[i], error))
        bar.update(len(items))
    bar.close()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    _write_table(out, _columns(task), rows)
    return Catalog(out, total, errors)
