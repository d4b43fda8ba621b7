"""``catalog``: any folder of images plus a CSV catalog — what a user with their own survey uses.

One row per galaxy (CSV, Parquet, or with astropy a FITS table, VOTable or ECSV: the shared
catalog reader, :mod:`galaxyzoo.data.catalogs`): an id column, then either a class-label column
(classification) or vote-fraction columns (``vote_fractions``), and optionally a split column.
Images are found by id in the image folder (``<id>.jpg``, ``.jpeg``, ``.png`` or a FITS name:
``.fits``, ``.fits.gz``, ``.fz``…) or named by a path column.

Splits: with a split column its values are the splits (``unlabeled`` rows need no label);
without one, labelled rows are split train/val/test by ``seed`` and ``fractions`` (stratified
by class for classification) and rows without a label form the ``unlabeled`` split (targets
-1 or NaN). Rows that cannot be used — no image, a duplicate id, a missing or bad label (one outside
``classes``) in a labelled split, no split value — are left out and listed in ``problems``
with their CSV line (training reports them: ``RUN/dropped_rows.csv``). The CSV may start with
a UTF-8 byte-order mark; paths in a path column stay inside the root unless allowed.
"""
from __future__ import annotations

import fnmatch
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from galaxyzoo.data.decode import read_header
from galaxyzoo.plugin_api import ImageIndex, outside, outside_error, read_catalog
from galaxyzoo.data.problems import InputProblem
from galaxyzoo.errors import DecodeError
from galaxyzoo.specs import Task

from .base import (
    UNLABELED,
    FileImageDataset,
    require_files,
    resolve_root,
    select_split,
    split_indices,
)
from .known import CATALOG_LAYOUT

NO_LABEL = frozenset({"", "nan", "NaN", "NA"})


@dataclass
class CatalogTable:
    """The usable rows of a catalog: image found, id unique, label parsed (or none)."""

    ids: list[str]
    paths: list[str]
    targets: np.ndarray  # int64 N (-1: no label) or float32 N×K (NaN: no label)
    labelled: np.ndarray  # bool N
    splits: np.ndarray | None  # the split column's values, or None without one
    task: Task
    problems: list[InputProblem]


def _column(header: list[str], name: str, csv_path: Path) -> int:
    if name not in header:
        raise ValueError(f"{csv_path}: no column {name!r} (columns: {', '.join(header)})")
    return header.index(name)


def _target_columns(header: list[str], wanted: str | Sequence[str], csv_path: Path) -> list[str]:
    names = fnmatch.filter(header, wanted) if isinstance(wanted, str) else list(wanted)
    if not names:
        raise ValueError(f"{csv_path}: no columns match {wanted!r} (columns: {', '.join(header)})")
    for n in names:
        _column(header, n, csv_path)
    return names


def _parse_fractions(cells: list[list[str]], width: int) -> tuple[np.ndarray, list[str | None]]:
    """Vote-fraction cells → (N×K float64, NaN rows where unusable; each row's problem: None,
    "unlabeled" when every cell is empty, "missing_label" or "bad_label")."""
    values = np.full((len(cells), width), math.nan)
    status: list[str | None] = [None] * len(cells)
    for i, row in enumerate(cells):
        try:
            values[i] = [float(c) for c in row]
        except ValueError:
            empty = [not c.strip() for c in row]
            status[i] = "unlabeled" if all(empty) else "missing_label" if any(empty) else "bad_label"
    finite = np.isfinite(values).all(axis=1)
    in_range = (values >= -1e-6).all(axis=1) & (values <= 1 + 1e-6).all(axis=1)
    for i in np.flatnonzero(~(finite & in_range)):
        if status[i] is None:
            status[i] = "missing_label" if not finite[i] else "bad_label"
    values[[st is not None for st in status]] = math.nan
    return np.clip(values, 0.0, 1.0), status


def read_catalog_table(
    *,
    csv_path: Path,
    root: Path,
    image_dir: Path,
    id_column: str | None,
    label_column: str,
    target_columns: str | Sequence[str] | None,
    split_column: str | None,
    classes: Sequence[str] | None,
    path_column: str | None,
    allow_outside_paths: bool = False,
) -> CatalogTable:
    catalog = read_catalog(csv_path)
    header, rows = catalog.header, catalog.rows
    root_real = os.path.realpath(root)
    id_at = 0 if id_column is None else _column(header, id_column, csv_path)
    split_at = header.index(split_column) if split_column and split_column in header else None
    path_at = None if path_column is None else _column(header, path_column, csv_path)
    images = ImageIndex(image_dir)
    problems: list[InputProblem] = []

    if target_columns is not None:
        columns = _target_columns(header, target_columns, csv_path)
        value_at = [header.index(c) for c in columns]
        fractions, fraction_status = _parse_fractions([[r[i] for i in value_at] for r in rows], len(columns))
    else:
        label_at = _column(header, label_column, csv_path)
        labels_seen = sorted({r[label_at].strip() for r in rows} - NO_LABEL)
        columns = _class_list(classes, csv_path) if classes is not None else labels_seen
        if not columns:
            raise ValueError(f"{csv_path}: column {label_column!r} holds no labels")
        class_index = {c: i for i, c in enumerate(columns)}
    task = Task("vote_fractions" if target_columns is not None else "classification", tuple(columns))

    ids: list[str] = []
    paths: list[str] = []
    kept: list[int] = []  # row numbers of the usable rows
    labels: list[int] = []
    labelled: list[bool] = []
    splits: list[str] = []
    seen: set[str] = set()
    for line, row in enumerate(rows, start=2):
        gid = row[id_at].strip()
        where = catalog.where(line - 2)

        def report(reason: str, message: str) -> None:
            problems.append(InputProblem(gid or f"row {line}", where, reason, message))

        if not gid:
            report("missing_id", f"empty {header[id_at]!r}")
            continue
        if gid in seen:
            report("duplicate_id", f"id {gid!r} already appeared earlier in the catalog")
            continue
        seen.add(gid)
        split = row[split_at].strip() if split_at is not None else None
        if split == "":
            report("missing_split", f"empty {split_column!r} value")
            continue
        if path_at is not None:
            path = os.path.join(root, row[path_at].strip())
            if row[path_at].strip() and not allow_outside_paths and outside(path, root_real):
                raise outside_error(catalog.describe(line - 2), path, root)
            if not row[path_at].strip() or not os.path.isfile(path):
                report("missing", f"image {path} not found")
                continue
        else:
            found = images.find(gid)
            if found is None:
                report("missing", f"no image {gid}.jpg/.jpeg/.png/.fits… in {image_dir}")
                continue
            path = found
        if task.kind == "vote_fractions":
            status = fraction_status[line - 2]
            has_label, bad = status is None, status if status in ("missing_label", "bad_label") else None
        else:
            text = row[label_at].strip()
            label = class_index.get(text, -1)
            has_label, bad = label >= 0, "bad_label" if label < 0 and text not in NO_LABEL else None
        if bad is None and not has_label and split not in (None, UNLABELED):
            bad = "missing_label"
        if bad is not None:
            shown = ",".join(row[i] for i in value_at) if task.kind == "vote_fractions" else row[label_at]
            report(bad, f"{'unusable' if bad == 'bad_label' else 'no'} label ({shown!r}) for split {split or 'train/val/test'!r}")
            continue
        ids.append(gid)
        paths.append(path)
        kept.append(line - 2)
        labelled.append(has_label)
        splits.append(split or "")
        if task.kind == "classification":
            labels.append(label)

    if task.kind == "vote_fractions":
        targets = fractions[kept].astype(np.float32).reshape(len(kept), len(columns))
    else:
        targets = np.asarray(labels, np.int64)
    return CatalogTable(
        ids, paths, targets, np.asarray(labelled, bool),
        np.asarray(splits) if split_at is not None else None, task, problems,
    )


def _class_list(classes: str | Sequence[str], csv_path: Path) -> list[str]:
    """The ``classes`` option: a list, or one comma-separated string (``--dataset-opt classes=a,b``)."""
    names = [c.strip() for c in classes.split(",")] if isinstance(classes, str) else [str(c).strip() for c in classes]
    if not names or not all(names) or len(set(names)) != len(names) or set(names) & NO_LABEL:
        raise ValueError(f"{csv_path}: classes must be distinct, non-empty names, got {classes!r}")
    return names


def split_members(table: CatalogTable, fractions: Sequence[float], seed: int) -> dict[str, np.ndarray]:
    """Row indices of every split of the table."""
    if table.splits is not None:
        return {s: np.flatnonzero(table.splits == s) for s in np.unique(table.splits)}
    rows = np.flatnonzero(table.labelled)
    # Sort by id so the split does not depend on the catalog's row order.
    rows = rows[np.argsort(np.asarray(table.ids, dtype=object)[rows], kind="stable")]
    strata = table.targets[rows] if table.task.kind == "classification" else None
    parts = {name: np.sort(rows[members]) for name, members in split_indices(len(rows), fractions, seed, strata).items()}
    parts[UNLABELED] = np.flatnonzero(~table.labelled)
    return parts


def nominal_size(paths: Sequence[str]) -> int:
    """The shorter side of the first readable image (every image is delivered square)."""
    for path in paths:
        try:
            return min(read_header(path))
        except DecodeError:
            continue
    raise ValueError("no readable image in the catalog, so image_size cannot be inferred; pass image_size=")


def open_catalog(
    split: str = "train",
    root: str | Path | None = None,
    *,
    catalog: str = "labels.csv",
    image_dir: str = "images",
    id_column: str | None = None,
    label_column: str = "label",
    target_columns: str | Sequence[str] | None = None,
    split_column: str | None = "split",
    classes: Sequence[str] | None = None,
    path_column: str | None = None,
    allow_outside_paths: bool = False,
    image_size: int | None = None,
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
    verify: bool = False,
    num_threads: int = 1,
    name: str = "catalog",
    layout: str = CATALOG_LAYOUT,
) -> FileImageDataset:
    """Open one split of a folder-plus-CSV catalog (see the module docstring for the rules).

    ``target_columns`` (a list, or a wildcard such as ``"Class*"``) makes it a vote-fraction
    catalog; ``classes`` fixes the class list and order (default: the sorted labels found): a
    label outside it is a left-out row (``bad_label``), never a new class. A ``path_column``
    path leading outside ``root`` (``..``, absolute, a symlink out) is refused naming its line,
    unless ``allow_outside_paths``. ``image_size`` defaults to the first image's shorter side.
    """
    base = resolve_root(root, name)
    csv_path, folder = base / catalog, base / image_dir
    require_files(name, base, [catalog] + ([] if path_column else [image_dir + "/"]), layout)
    table = read_catalog_table(
        csv_path=csv_path, root=base, image_dir=folder, id_column=id_column,
        label_column=label_column, target_columns=target_columns, split_column=split_column,
        classes=classes, path_column=path_column, allow_outside_paths=allow_outside_paths,
    )
    members = select_split(split, split_members(table, fractions, seed), name)
    size = image_size if image_size is not None else nominal_size(table.paths)
    return FileImageDataset(
        name=name, split=split, task=table.task,
        ids=[table.ids[i] for i in members], targets=table.targets[members],
        paths=[table.paths[i] for i in members], image_size=size, problems=list(table.problems),
        verify=verify, num_threads=num_threads,
    )
