"""Atomic file writes: a reader sees the old file or the new one, never half of one.

The one sequence every writer uses: a temporary file in the destination's folder, written,
flushed and fsynced, renamed over the destination, then the folder fsynced so the rename
itself survives a crash. A killed writer leaves only a ``.NAME.*.tmp`` file, which no reader
takes for output (and which writers may delete on their next run).
"""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Iterator

__all__ = [
    "atomic_open",
    "atomic_symlink",
    "atomic_write_bytes",
    "atomic_write_json",
    "fsync_dir",
]


def fsync_dir(directory: Path | str) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_open(path: Path | str) -> Iterator[BinaryIO]:
    """A binary file to write ``path``'s new content into; it replaces ``path`` only when the
    ``with`` block ends without an exception. ``f.name`` is the temporary file (to read back
    what was written before it is renamed)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp creates 0600; give a normal file's mode
        os.close(fd)
        with open(tmp, "wb") as f:  # by name, so ``f.name`` is the temporary file's path
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    with atomic_open(path) as f:
        f.write(data)


def atomic_write_json(path: Path | str, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def atomic_symlink(link: Path, target: Path) -> None:
    """Point ``link`` at ``target`` (stored relative) by renaming a fresh symlink over it."""
    tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    os.symlink(os.path.relpath(target, link.parent), tmp)
    os.replace(tmp, link)
    fsync_dir(link.parent)
