"""Finding the inputs of a job: image files under a folder, or the rows of a catalog."""
from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Iterable, Iterator

from ..errors import UserError
from .problems import shown
from .fits import FITS_SUFFIXES, fits_stem

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", *FITS_SUFFIXES)  # FITS: .fits, .fit, .fts, .fz, .fits.gz...


def walk_images(root: str | os.PathLike) -> Iterator[tuple[str, str]]:
    """(id = file stem, path) of every .jpg/.jpeg/.png entry under ``root``, streaming, each
    directory's entries in name order (so the order is the same on every run).

    Every such entry is yielded, whatever it is (a dangling symlink, a FIFO, a folder), so the
    reader gives it a row with its reason; nothing here opens a file. Symlinked folders are
    followed, except one leading back to a folder above it (a loop), and a folder that cannot be
    listed is yielded itself: both become one row each. Names that are not UTF-8 stay as
    Python's surrogate-escaped ``str`` (the exact bytes, via ``os.fsencode``); :func:`shown`
    writes them to catalogs."""
    root = os.fspath(root)
    try:
        entries = _listing(root)
    except OSError as err:
        raise UserError(f"{shown(root)}: cannot list the folder ({err.strerror or err})") from None
    yield from _walk(root, entries, {_identity(root)})


def _listing(folder: str) -> list:
    with os.scandir(folder) as it:
        return sorted(it, key=lambda e: e.name)


def _identity(path: str):
    st = os.stat(path)
    return st.st_dev, st.st_ino


def _walk(folder: str, entries: list, above: set) -> Iterator[tuple[str, str]]:
    for entry in entries:
        try:
            is_dir = entry.is_dir()  # follows symlinks; False for a dangling one
        except OSError:  # a loop of symlinks: read (and reported) as a file
            is_dir = False
        if is_dir:
            try:
                key = _identity(entry.path)
                inner = None if key in above else _listing(entry.path)
            except OSError:
                inner = None
            if inner is None:  # unlistable, or a link back up: one row, read as a folder
                yield entry.name, entry.path
            else:
                yield from _walk(entry.path, inner, above | {key})
        elif entry.name.lower().endswith(IMAGE_SUFFIXES):
            yield fits_stem(entry.name), entry.path  # the stem; a.fits.gz -> a


def open_catalog_csv(csv_path: str | os.PathLike):
    """A CSV catalog opened for ``csv`` readers: UTF-8, a byte-order mark accepted (every
    catalog reader opens its file here: datasets, ingest, predict)."""
    return open(csv_path, newline="", encoding="utf-8-sig")


def outside(path: str | os.PathLike, folder_real: str) -> bool:
    """Whether ``path``, resolved (``..``, absolute paths and symlinks followed), leads outside
    the folder whose real path is ``folder_real`` (``os.path.realpath(folder)``)."""
    real = os.path.realpath(path)
    return os.path.commonpath([folder_real, real]) != folder_real


def outside_error(where: str, path: str, folder) -> UserError:
    """The one-line refusal of a catalog row leading outside its folder; ``where``: FILE, line N."""
    return UserError(f"{where}: image path {shown(path)!r} leads outside {shown(str(folder))!r}; "
                     "fix the catalog (or allow paths outside the folder explicitly)")


def catalog_images(csv_path: str | os.PathLike, folder: str | os.PathLike, id_column: str,
                   path_column: str | None = None, *, allow_outside: bool = False) -> Iterator[tuple[str, str]]:
    """(id, path) per catalog row, streaming: the path column (relative to ``folder``) or the
    first of ``folder/<id>.jpg|.jpeg|.png`` that exists (``.jpg`` when none does: the row then
    gets a ``missing`` error). Missing columns are reported at once, before any row is read.
    A UTF-8 byte-order mark is accepted. A path (or id) leading outside ``folder`` (``..``, an
    absolute path, a symlink out) is refused, naming the row, unless ``allow_outside``."""
    with open_catalog_csv(csv_path) as f:
        header = next(csv.reader(f), [])
    for name in filter(None, (id_column, path_column)):
        if name not in header:
            raise UserError(f"{csv_path}: no column {name!r} (columns: {header})")
    return _catalog_rows(csv_path, folder, id_column, path_column, allow_outside)


def _catalog_rows(csv_path, folder, id_column, path_column, allow_outside) -> Iterator[tuple[str, str]]:
    inside = os.path.realpath(folder)
    with open_catalog_csv(csv_path) as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            ident = (row[id_column] or "").strip()
            if path_column:
                path = os.path.join(folder, row[path_column] or "")
            else:
                candidates = [os.path.join(folder, ident + s) for s in IMAGE_SUFFIXES]
                path = next((c for c in candidates if os.path.exists(c)), candidates[0])
            if not allow_outside and outside(path, inside):
                raise outside_error(f"{csv_path}, line {line}", path, folder)
            yield ident, path


def expand_inputs(inputs: Iterable[str | os.PathLike]) -> list[Path]:
    """Files as given; folders replaced by their JPEG/PNG files (recursively, sorted)."""
    paths: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():  # every image-named entry, good or not, gets a row
            paths += [Path(p) for _, p in walk_images(path)]
        else:
            paths.append(path)  # a missing or bad file becomes an error row
    return paths
