"""Tables through pandas: reading catalogs (CSV, Parquet, and with astropy FITS tables,
VOTable, ECSV) and writing catalogs, manifests and metrics tables atomically.

Written CSV keeps the bytes the ``csv`` module wrote before pandas was used: comma-separated,
minimal quoting, ``\\r\\n`` line ends (``csv.writer``'s default), text cells as given (callers
format numbers, e.g. ``%.6f``), so existing readers of the files see no change. Parquet goes
through pyarrow.
"""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Sequence

from ..atomic import atomic_write_bytes
from ..errors import InputNotFoundError, UserError

CSV_SUFFIXES = (".csv", ".csv.gz", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")
# Read with astropy.table.Table.read (format from the suffix, or sniffed by astropy).
ASTROPY_SUFFIXES = (".ecsv", ".vot", ".votable", ".xml", ".fits", ".fit", ".fts", ".fits.gz", ".hdf5")
TABLE_SUFFIXES = CSV_SUFFIXES + PARQUET_SUFFIXES + ASTROPY_SUFFIXES
LINE_END = "\r\n"  # what csv.writer writes


def pandas():
    try:
        import pandas as pd
    except ImportError:
        raise UserError("tables need pandas: pip install pandas") from None
    return pd


def is_table_name(path: str | os.PathLike) -> bool:
    return os.fspath(path).lower().endswith(TABLE_SUFFIXES)


def read_table(path: str | os.PathLike, *, text: bool = True):
    """A catalog as a pandas DataFrame. CSV cells stay text when ``text`` (ids such as
    ``007`` keep their zeros; empty cells are ""), Parquet keeps its types, and astropy
    formats (FITS binary tables, VOTable, ECSV) are read by ``astropy.table.Table.read``
    (masked cells become NaN/None; multidimensional columns are dropped)."""
    pd = pandas()
    path = Path(path)
    if not path.is_file():
        raise InputNotFoundError(f"{path}: no such catalog file")
    name = path.name.lower()
    if name.endswith(PARQUET_SUFFIXES):
        return pd.read_parquet(path)
    if name.endswith(ASTROPY_SUFFIXES):
        return _astropy_table(path)
    try:
        if text:  # the header read as a row: a wider row later is an error, never a silent index
            cells = pd.read_csv(path, header=None, dtype=str, keep_default_na=False, encoding="utf-8-sig")
            frame = cells.iloc[1:].reset_index(drop=True)
            frame.columns = list(cells.iloc[0])
            return frame
        return pd.read_csv(path, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as err:
        raise UserError(f"{path}: not a readable CSV catalog ({err})") from None


def _astropy_table(path: Path):
    try:
        from astropy.table import Table
    except ImportError:
        raise UserError(f'{path}: reading this catalog format needs astropy: pip install "galaxyzoo[fits]"') from None
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = Table.read(path)
    except Exception as err:  # astropy raises many types for a bad or unknown file
        raise UserError(f"{path}: astropy cannot read this table ({err})") from None
    keep = [name for name in table.colnames if len(table[name].shape) <= 1]
    frame = table[keep].to_pandas()
    for name in frame.columns:  # FITS text columns arrive as bytes
        if frame[name].dtype == object and len(frame) and isinstance(frame[name].iloc[0], bytes):
            frame[name] = frame[name].str.decode("utf-8").str.rstrip()
    return frame


def csv_bytes(frame) -> bytes:
    """The CSV of ``frame`` (header + rows, no index) as the csv module wrote it."""
    text = io.StringIO()
    frame.to_csv(text, index=False, lineterminator=LINE_END)
    return text.getvalue().encode()


def write_table(frame, path: str | os.PathLike, *, text_columns: Sequence[str] | None = None) -> Path:
    """``frame`` to ``path`` atomically: Parquet for a .parquet/.pq name, else CSV. With
    ``text_columns``, a Parquet file keeps those as text and stores every other column as
    float64 (an empty cell as null): catalogs are built as text cells, formatted for the CSV."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.lower().endswith(PARQUET_SUFFIXES):
        if text_columns is not None:
            frame = numeric_columns(frame, [c for c in frame.columns if c not in text_columns])
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        atomic_write_bytes(path, buffer.getvalue())
    else:
        atomic_write_bytes(path, csv_bytes(frame))
    return path


def numeric_columns(frame, columns: Sequence[str]):
    """A copy of ``frame`` with ``columns`` as float64 ("" and unparsable cells: NaN)."""
    pd = pandas()
    out = frame.copy()
    for name in columns:
        out[name] = pd.to_numeric(out[name].replace("", None), errors="coerce").astype("float64")
    return out


def rows_frame(columns: Sequence[str], rows: Sequence[Sequence]):
    """A DataFrame of rows (lists, in ``columns`` order), cells kept as given."""
    pd = pandas()
    return pd.DataFrame([list(r) for r in rows], columns=list(columns), dtype=object)
