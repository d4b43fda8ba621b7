"""Finding the inputs of a job: image files under a folder (catalog rows: :mod:`.catalogs`)."""
from __future__ import annotations

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


def outside(path: str | os.PathLike, folder_real: str) -> bool:
    """Whether ``path``, resolved (``..``, absolute paths and symlinks followed), leads outside
    the folder whose real path is ``folder_real`` (``os.path.realpath(folder)``)."""
    real = os.path.realpath(path)
    return os.path.commonpath([folder_real, real]) != folder_real


def outside_error(where: str, path: str, folder) -> UserError:
    """The one-line refusal of a catalog row leading outside its folder; ``where``: FILE, line N."""
    return UserError(f"{where}: image path {shown(path)!r} leads outside {shown(str(folder))!r}; "
                     "fix the catalog (or allow paths outside the folder explicitly)")


def expand_inputs(inputs: Iterable[str | os.PathLike]) -> list[Path]:
    """Files as given; folders replaced by their image files (recursively, sorted)."""
    paths: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():  # every image-named entry, good or not, gets a row
            paths += [Path(p) for _, p in walk_images(path)]
        else:
            paths.append(path)  # a missing or bad file becomes an error row
    return paths
