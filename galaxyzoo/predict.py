"""Run a trained model over image files and write a catalog, one row per input.

Inputs are decoded like the training images (square, at the training image size), then
preprocessed exactly as in training (the checkpoint records how). A file that cannot be read
gets a row with ``status=error`` and the reason; it never stops the run.
"""
from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from .checkpoint import atomic_write_bytes, load_model
from .data.decode import load_batch
from .data.pipeline import Preprocessing
from .evaluate import to_probabilities
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


@dataclass
class Catalog:
    path: Path
    rows: int
    errors: int


def _columns(task: Task) -> list[str]:
    head = ["id", "path", "status", "error"]
    if task.kind == "classification":
        return head + ["predicted"] + [f"prob_{c}" for c in task.outputs]
    return head + list(task.outputs)


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
) -> Catalog:
    """Predict every input image and write the catalog CSV to ``out`` (atomically)."""
    dev = resolve_device(device)
    model, meta, _ = load_model(checkpoint, dev)
    task = Task(**meta["task"])
    prep = Preprocessing.from_dict(meta["preprocessing"])
    source_size = meta["source_size"]
    threads = threads or min(len(os.sched_getaffinity(0)), 8)
    paths = expand_inputs(inputs)
    if not paths:
        raise ValueError("no input images (folders are searched for .jpg, .jpeg and .png files)")

    text = io.StringIO()
    writer = csv.writer(text)
    columns = _columns(task)
    writer.writerow(columns)
    errors = 0
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=dev.type == "cuda")
    for start in tqdm(range(0, len(paths), batch_size), desc="predict", unit="batch", disable=not progress):
        chunk = paths[start:start + batch_size]
        images, failures = load_batch(chunk, source_size, num_threads=threads)
        failed = dict(failures)
        ok = np.array([i not in failed for i in range(len(chunk))])
        probs = np.zeros((len(chunk), task.num_outputs), np.float32)
        if ok.any():
            x = prep.apply(torch.from_numpy(images[ok]).to(dev))
            with autocast:
                outputs = model(x.contiguous(memory_format=torch.channels_last))
            probs[ok] = to_probabilities(outputs, task).cpu().numpy()
        for i, path in enumerate(chunk):
            head = [path.stem, str(path)]
            if i in failed:
                errors += 1
                row = head + ["error", f"{failed[i].reason}: {failed[i]}"]
                writer.writerow(row + [""] * (len(columns) - len(row)))
            elif task.kind == "classification":
                writer.writerow(head + ["ok", "", task.outputs[int(probs[i].argmax())]]
                                + [f"{p:.6f}" for p in probs[i]])
            else:
                writer.writerow(head + ["ok", ""] + [f"{p:.6f}" for p in probs[i]])
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out, text.getvalue().encode())
    return Catalog(out, len(paths), errors)
