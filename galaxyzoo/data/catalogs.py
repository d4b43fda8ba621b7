"""The one catalog reader: a table of galaxies as text cells, and where each row's image is.

Every job that takes a catalog reads it here: the datasets (``catalog``, ``gz2_*``), ingest and
predict (``--catalog``) and the Python API. Formats are those of :func:`.tables.read_table`:
CSV (UTF-8, a byte-order mark accepted), Parquet, and with astropy FITS tables, VOTable and
ECSV. Cells arrive as text ("" for an empty or masked cell), so ids such as ``007`` keep their
zeros and each caller parses what it needs.

What a job does with a row it cannot use differs by design and stays with the job: a dataset
leaves the row out and lists it in its ``problems``; ingest and predict give every row its own
output row, with the reason when its image is missing or bad. A path (or id) leading outside
the image folder is refused for all of them, naming the row, unless explicitly allowed.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError
from .fits import fits_stem
from .inputs import IMAGE_SUFFIXES, outside, outside_error
from .tables import CSV_SUFFIXES, read_table


@dataclass
class Catalog:
    path: Path
    header: list[str]
    rows: list[list[str]]  # text cells, each row as wide as the header

    def column(self, name: str) -> int:
        """The index of column ``name``; a missing one is an error naming the columns there are."""
        if name not in self.header:
            raise UserError(f"{self.path}: no column {name!r} (columns: {', '.join(self.header)})")
        return self.header.index(name)

    def where(self, k: int) -> str:
        """Row ``k`` (0-based) as a problem's source: ``labels.csv:3`` (the CSV line), or
        ``table.fits#2`` (the row) for other formats."""
        return f"{self.path.name}:{k + 2}" if self._is_csv() else f"{self.path.name}#{k + 1}"

    def describe(self, k: int) -> str:
        """Row ``k`` in an error message: ``PATH, line 3`` or ``PATH, row 2``."""
        return f"{self.path}, line {k + 2}" if self._is_csv() else f"{self.path}, row {k + 1}"

    def _is_csv(self) -> bool:
        return self.path.name.lower().endswith(CSV_SUFFIXES)


def read_catalog(path: str | os.PathLike) -> Catalog:
    """A catalog file's header (names stripped) and rows (text cells; empty rows dropped)."""
    path = Path(path)
    frame = read_table(path)
    header = [str(name).strip() for name in frame.columns]
    if not header or all(not name or name.startswith("Unnamed:") for name in header):
        raise UserError(f"{path}: empty catalog (expected a header row naming the columns)")
    if len(set(header)) != len(header):
        raise UserError(f"{path}: repeated column names in the header ({', '.join(header)})")
    if not path.name.lower().endswith(CSV_SUFFIXES):  # typed formats: numbers and masks to text
        frame = frame.astype(object).map(_text)
    rows = [row for row in frame.to_numpy(dtype=object).tolist() if any(str(c).strip() for c in row)]
    return Catalog(path, header, rows)


def _text(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


class ImageIndex:
    """Id → image file in a folder: ``<id>.jpg``, ``.jpeg``, ``.png`` or a FITS name (earlier
    suffixes win when several exist). The folder is listed once, on the first lookup: a stat
    per suffix per row is what a 100,000-row catalog cannot afford. Ids with a path
    separator (``sub/123``) are looked up as paths."""

    def __init__(self, folder: str | os.PathLike, suffixes: tuple[str, ...] = IMAGE_SUFFIXES):
        self.folder = os.fspath(folder)
        self.suffixes = suffixes
        self._stems: dict[str, str] | None = None

    def find(self, ident: str) -> str | None:
        if os.sep in ident or (os.altsep and os.altsep in ident):
            candidates = (os.path.join(self.folder, ident + s) for s in self.suffixes)
            return next((c for c in candidates if os.path.exists(c)), None)
        return self.stems().get(ident)

    def stems(self) -> dict[str, str]:
        """Every image file of the folder by stem (listed on the first call)."""
        if self._stems is None:
            self._stems = self._list()
        return self._stems

    def _list(self) -> dict[str, str]:
        rank = {s: i for i, s in enumerate(self.suffixes)}
        found: dict[str, tuple[int, str]] = {}
        try:
            with os.scandir(self.folder) as entries:
                for entry in entries:
                    lower = entry.name.lower()
                    r = next((rank[s] for s in self.suffixes if lower.endswith(s)), None)
                    stem = fits_stem(entry.name) if r is not None else None
                    if stem is not None and (stem not in found or r < found[stem][0]):
                        found[stem] = (r, entry.path)
        except OSError:
            return {}  # no such folder: every row is then a missing image, each reported
        return {stem: path for stem, (_, path) in found.items()}


def catalog_images(path: str | os.PathLike, folder: str | os.PathLike, id_column: str,
                   path_column: str | None = None, *, allow_outside: bool = False) -> list[tuple[str, str]]:
    """(id, image path) for every row of a catalog, in order, for jobs that give every row an
    output row (ingest, predict): the path column (relative to ``folder``), else the image
    :class:`ImageIndex` finds for the id, else ``folder/<id>.jpg`` (which then gets its
    ``missing`` error row). Missing columns are reported before any image is looked for."""
    catalog = read_catalog(path)
    id_at = catalog.column(id_column)
    path_at = catalog.column(path_column) if path_column else None
    index, inside = ImageIndex(folder), os.path.realpath(folder)
    items = []
    for k, row in enumerate(catalog.rows):
        ident = row[id_at].strip()
        if path_at is not None:
            image = os.path.join(folder, row[path_at].strip())
        else:
            image = index.find(ident) or os.path.join(folder, ident + IMAGE_SUFFIXES[0])
        if not allow_outside and outside(image, inside):
            raise outside_error(catalog.describe(k), image, folder)
        items.append((ident, image))
    return items

