"""Finding the inputs of a job: image files under a folder, or the rows of a catalog."""
from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Iterable, Iterator

from ..errors import UserError
from .fits import FITS_SUFFIXES, fits_stem

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", *FITS_SUFFIXES)  # FITS: .fits, .fit, .fts, .fz, .fits.gz...


def walk_images(root: str | os.PathLike) -> Iterator[tuple[str, str]]:
    """(id = file stem, path) of every .jpg/.jpeg/.png under ``root``, streaming, each
    directory's entries in name order (so the order is the same on every run)."""
    with os.scandir(root) as it:
        entries = sorted(it, key=lambda e: e.name)
    for entry in entries:
        if entry.is_dir():
            yield from walk_images(entry.path)
        elif entry.name.lower().endswith(IMAGE_SUFFIXES):
            yield fits_stem(entry.name), entry.path  # the stem; a.fits.gz -> a


def catalog_images(csv_path: str | os.PathLike, folder: str | os.PathLike, id_column: str,
                   path_column: str | None = None) -> Iterator[tuple[str, str]]:
    """(id, path) per catalog row, streaming: the path column (relative to ``folder``) or the
    first of ``folder/<id>.jpg|.jpeg|.png`` that exists (``.jpg`` when none does: the row then
    gets a ``missing`` error). Missing columns are reported at once, before any row is read."""
    with open(csv_path, newline="") as f:
        header = next(csv.reader(f), [])
    for name in filter(None, (id_column, path_column)):
        if name not in header:
            raise UserError(f"{csv_path}: no column {name!r} (columns: {header})")
    return _catalog_rows(csv_path, folder, id_column, path_column)


def _catalog_rows(csv_path, folder, id_column, path_column) -> Iterator[tuple[str, str]]:
    with open(csv_path, newline="") as f:
        for row in csv.DictReader(f):
            ident = row[id_column].strip()
            if path_column:
                yield ident, os.path.join(folder, row[path_column])
                continue
            candidates = [os.path.join(folder, ident + s) for s in IMAGE_SUFFIXES]
            yield ident, next((c for c in candidates if os.path.exists(c)), candidates[0])


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
