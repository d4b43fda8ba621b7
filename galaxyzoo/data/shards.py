"""What ``galaxyzoo ingest`` writes and how it is read back: ``shard-NNNNN.npy`` crops with a
``shard-NNNNN.csv`` manifest part each, joined into ``manifest.csv`` (+ ``.parquet``) at the
end, and the good inputs' crops as a GalaxyDataset.

The crops are already ROI-cropped and resized, so a pipeline reading them runs
``preprocess`` with ``mode=None`` (the whole crop). Shards are memory-mapped, not loaded.
"""
from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..atomic import atomic_open
from .tables import LINE_END, csv_bytes, numeric_columns, pandas, read_table, rows_frame, write_table
from ..errors import InputNotFoundError
from ..specs import Task

MANIFEST_COLUMNS = ("id", "path", "shard", "index", "x0", "y0", "x1", "y1", "height", "width",
                    "decoded_height", "decoded_width", "status", "error", "message")
MANIFEST_TEXT_COLUMNS = ("id", "path", "shard", "status", "error", "message")


def shard_name(k: int) -> str:
    return f"shard-{k:05d}"


def is_shard_dir(path: str | Path) -> bool:
    path = Path(path)
    return (path / "manifest.csv").is_file() and (path / "ingest.json").is_file()


def read_manifest(folder: str | Path) -> list[dict[str, str]]:
    """The manifest's rows as text cells (saved again by a spreadsheet: a BOM is accepted)."""
    return read_table(Path(folder) / "manifest.csv").to_dict("records")


def manifest_frame(rows: Sequence[Sequence]):
    """Manifest rows as a DataFrame of :data:`MANIFEST_COLUMNS`, plus ``ra`` and ``dec`` when
    any row carries them (FITS inputs: two trailing cells; other rows get "")."""
    columns = list(MANIFEST_COLUMNS) + (["ra", "dec"] if any(len(r) > len(MANIFEST_COLUMNS) for r in rows) else [])
    return rows_frame(columns, [list(r) + [""] * (len(columns) - len(r)) for r in rows])


def write_shard_npy(path: Path, chunks: list[np.ndarray], item_shape: tuple[int, ...]) -> None:
    """``np.save`` of the uint8 chunks' concatenation, byte for byte, without concatenating."""
    with atomic_open(path) as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "|u1", "fortran_order": False,
                                                 "shape": (sum(len(c) for c in chunks), *item_shape)})
        for chunk in chunks:
            f.write(np.ascontiguousarray(chunk, np.uint8).data)


class ShardDataset:
    """The ``status=ok`` rows of an ingest's manifest; ``read_images`` gives uint8 N×S×S×3.

    ``errors`` lists the manifest rows of the inputs that could not be ingested. There are no
    labels: ``targets`` is all zeros (int64) and ``task`` is whatever the caller passes.
    """

    def __init__(self, folder: str | Path, task: Task | None = None):
        self.folder = Path(folder)
        if not is_shard_dir(self.folder):
            raise InputNotFoundError(f"{self.folder} is not a finished ingest (no manifest.csv and ingest.json; "
                                    "run `galaxyzoo ingest SRC --out DIR` to completion)")
        self.options = json.loads((self.folder / "ingest.json").read_text())
        self.manifest = read_manifest(self.folder)  # every input, in ingest order
        ok = [r for r in self.manifest if r["status"] == "ok"]
        self.errors = [r for r in self.manifest if r["status"] != "ok"]
        self.rows = ok
        self.ids = [r["id"] for r in ok]
        self.paths = [r["path"] for r in ok]
        self.boxes = np.array([[int(r[c]) for c in ("x0", "y0", "x1", "y1")] for r in ok],
                              np.int64).reshape(-1, 4)
        shard_names = sorted({r["shard"] for r in ok})
        self._arrays = {name: np.load(self.folder / name, mmap_mode="r") for name in shard_names}
        self._shard = np.array([shard_names.index(r["shard"]) for r in ok], np.int64)
        self._names = shard_names
        self._index = np.array([int(r["index"]) for r in ok], np.int64)
        self.task = task
        self.targets = np.zeros(len(ok), np.int64)

    @property
    def size(self) -> int:
        return int(self.options["size"])

    def __len__(self) -> int:
        return len(self.ids)

    def read_images(self, indices: Sequence[int]) -> np.ndarray:
        idx = np.asarray(indices, np.int64)
        out = np.empty((len(idx), self.size, self.size, 3), np.uint8)
        shard = self._shard[idx]
        for s in np.unique(shard):
            sel = shard == s
            out[sel] = self._arrays[self._names[s]][self._index[idx[sel]]].transpose(0, 2, 3, 1)
        return out


def write_manifest(out: Path, shards: list[int]) -> None:
    """Join the shards' manifest parts into manifest.csv (+ .parquet), atomically. The CSV is
    renamed into place last: when it exists, the ingest is complete. Parts with the same
    header are joined as bytes; with FITS inputs in some parts only, the ``ra``/``dec``
    columns are added to the others (empty)."""
    parts = [out / f"{shard_name(k)}.csv" for k in shards]
    header = (",".join(MANIFEST_COLUMNS) + LINE_END).encode()
    with atomic_open(out / "manifest.csv") as f:
        if all(_first_line(p) == header for p in parts):
            f.write(header)
            for part in parts:
                with open(part, "rb") as rows:
                    next(rows)
                    f.writelines(rows)
        else:
            f.write(csv_bytes(_joined([read_table(p) for p in parts])))
        f.flush()
        _write_parquet(Path(f.name), out / "manifest.parquet")


def _first_line(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.readline()


def _joined(frames: list):
    pd = pandas()
    columns = list(dict.fromkeys(c for frame in frames for c in frame.columns))
    return pd.concat(frames, ignore_index=True)[columns].fillna("")


def _write_parquet(csv_path: Path, parquet_path: Path) -> None:
    """The manifest as Parquet: numbers as integers (index, boxes, sizes) or floats (ra, dec)."""
    try:
        import pyarrow  # noqa: F401  (pandas writes Parquet through it)
    except ImportError:
        return
    frame = read_table(csv_path)
    numbers = [c for c in frame.columns if c not in MANIFEST_TEXT_COLUMNS]
    frame = numeric_columns(frame, numbers)
    for name in numbers:
        if name not in ("ra", "dec"):
            frame[name] = frame[name].astype("Int64")  # error rows: null
    write_table(frame, parquet_path)


def file_stamps(paths: Iterable[str]) -> list:
    """[size, mtime in ns] of each path (None when it cannot be stat'ed)."""
    return [_stamp(path) for path in paths]


def _stamp(path: str) -> list | None:
    with contextlib.suppress(OSError, ValueError):
        st = os.stat(path)
        return [st.st_size, st.st_mtime_ns]
    return None


def stamps_name(k: int) -> str:
    """Shard ``k``'s inputs' [size, mtime] when it was made: a changed input makes it stale."""
    return f"stamps-{k:05d}.json"


def remove_shards_from(out: Path, n: int) -> int:
    """Shards numbered ``n`` and up belong to inputs no longer there: remove them; how many files."""
    removed = 0
    for f in [*out.glob("shard-*.*"), *out.glob("stamps-*.json")]:
        number = f.name.split(".")[0].split("-")[-1]
        if number.isdigit() and int(number) >= n:
            f.unlink(missing_ok=True)
            removed += 1
    return removed
