"""What every real-data reader shares: where files live, deterministic splits, and the two
kinds of dataset they return (images in files, images in an HDF5 array).

Readers only read local files; a missing file raises
:class:`~galaxyzoo.data.problems.DatasetNotFoundError` naming the expected layout. Bad rows and
bad images are collected in the dataset's ``problems`` (which item, where, why) instead of
stopping anything.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from galaxyzoo.data.decode import load_batch, verify_images
from galaxyzoo.data.problems import InputProblem
from galaxyzoo.errors import DatasetNotFoundError
from galaxyzoo.specs import Task

log = logging.getLogger("galaxyzoo.data")

# Where a dataset lives when no root is given: $GALAXYZOO_DATA/<name>, else ./data/<name>.
DATA_ENV = "GALAXYZOO_DATA"
LABELLED_SPLITS: tuple[str, ...] = ("train", "val", "test")
UNLABELED = "unlabeled"


def resolve_root(root: str | os.PathLike | None, name: str) -> Path:
    if root is not None:
        return Path(root).expanduser()
    return Path(os.environ.get(DATA_ENV, "data")).expanduser() / name


def require_files(name: str, root: Path, relpaths: Sequence[str], layout: str) -> None:
    """Raise DatasetNotFoundError listing every one of ``relpaths`` missing under ``root``."""
    missing = [p for p in relpaths if not (root / p).exists()]
    if missing:
        raise DatasetNotFoundError(name, str(root), missing, layout)


def check_fractions(fractions: Sequence[float]) -> tuple[float, float, float]:
    fr = tuple(float(f) for f in fractions)
    if len(fr) != 3 or min(fr) < 0 or abs(sum(fr) - 1) > 1e-6:
        raise ValueError(f"fractions must be three non-negative numbers (train, val, test) summing to 1, got {fractions}")
    return fr  # type: ignore[return-value]


def split_indices(
    n: int, fractions: Sequence[float], seed: int, strata: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Deterministic train/val/test partition of ``range(n)`` (sorted index arrays).

    Split sizes are ``n × fractions`` rounded to sum to ``n``. With ``strata`` (class labels)
    each class is split in the same proportions, to within one item, so rare classes reach
    every split. Depends only on the arguments — never on which split is asked for.
    """
    fr = np.asarray(check_fractions(fractions))
    rng = np.random.default_rng(seed)
    groups = [np.arange(n)] if strata is None else [np.flatnonzero(strata == s) for s in np.unique(strata)]
    counts = _allocate(np.array([len(g) for g in groups]), fr, rng)
    parts: dict[str, list[np.ndarray]] = {s: [] for s in LABELLED_SPLITS}
    for members, row in zip(groups, counts):
        shuffled = members[rng.permutation(len(members))]
        for name, chunk in zip(LABELLED_SPLITS, np.split(shuffled, np.cumsum(row)[:2])):
            parts[name].append(chunk)
    return {name: np.sort(np.concatenate(chunks)) for name, chunks in parts.items()}


def _largest_remainder(ideal: np.ndarray) -> np.ndarray:
    counts = np.floor(ideal).astype(np.int64)
    short = int(round(ideal.sum())) - int(counts.sum())
    counts[np.argsort(-(ideal - counts), kind="stable")[:short]] += 1
    return counts


def _allocate(sizes: np.ndarray, fr: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Items per (group, split): the floors of the ideal shares, then the leftover items go where
    the fractional parts are largest (random tie-break), so that the split totals are exact."""
    ideal = np.outer(sizes, fr)
    counts = np.floor(ideal).astype(np.int64)
    need_split = _largest_remainder(sizes.sum() * fr) - counts.sum(axis=0)
    need_group = sizes - counts.sum(axis=1)
    order = np.lexsort((rng.random(ideal.size), -(ideal - counts).ravel()))
    while need_group.any():
        for flat in order:
            g, s = divmod(int(flat), len(fr))
            if need_group[g] and need_split[s]:
                counts[g, s] += 1
                need_group[g] -= 1
                need_split[s] -= 1
    return counts


def select_split(split: str, available: Mapping[str, np.ndarray], name: str) -> np.ndarray:
    if split not in available:
        raise ValueError(f"dataset {name!r} has splits {sorted(available)}, not {split!r}")
    return available[split]


class FileImageDataset:
    """Images decoded from files on demand, every one delivered at ``image_size``².

    JPEGs are decoded at the DCT scale closest to ``image_size`` (ask for 212 from 424-pixel
    cutouts and half the work is skipped); other sizes are centre-cropped to a square and
    area-resized (see :func:`galaxyzoo.data.decode.fit_square`). A file that fails to decode
    at read time comes back all zero, is logged and is added to ``problems``: it never stops a
    run (in DataLoader workers only the log reaches the main process). ``verify=True`` instead
    decodes everything up front, on every core, and leaves bad files out of the split.
    """

    def __init__(
        self,
        *,
        name: str,
        split: str,
        task: Task,
        ids: Sequence[str],
        targets: np.ndarray,
        paths: Sequence[str],
        image_size: int,
        problems: list[InputProblem],
        verify: bool = False,
        num_threads: int = 1,
    ) -> None:
        self.name, self.split, self.task, self.image_size = name, split, task, int(image_size)
        self.problems = problems
        self.num_threads = num_threads
        ids, targets, paths = list(ids), np.asarray(targets), [os.fspath(p) for p in paths]
        if verify and paths:
            threads = max(num_threads, os.cpu_count() or 1)
            failed = dict(verify_images(paths, num_threads=threads, progress=len(paths) > 2000))
            problems.extend(InputProblem(ids[i], paths[i], e.reason, str(e)) for i, e in sorted(failed.items()))
            keep = [i for i in range(len(paths)) if i not in failed]
            ids, targets, paths = [ids[i] for i in keep], targets[keep], [paths[i] for i in keep]
        self.ids, self.targets, self.paths = ids, targets, paths

    def __len__(self) -> int:
        return len(self.ids)

    def read_images(self, indices: Sequence[int]) -> np.ndarray:
        return self.read_batch(indices)[0]

    def read_batch(self, indices: Sequence[int]) -> tuple[np.ndarray, list[InputProblem]]:
        """uint8 N×S×S×3 plus the problems met (their images are all zero)."""
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        images, failures = load_batch([self.paths[i] for i in idx], self.image_size, num_threads=self.num_threads)
        found = [InputProblem(self.ids[idx[j]], self.paths[idx[j]], e.reason, str(e)) for j, e in failures]
        for problem in found:
            log.warning("%s: bad image, delivered all zero: %s", self.name, problem)
        self.problems.extend(found)
        return images, found


class H5ImageDataset:
    """Images stored as one uint8 N×H×W×3 array in an HDF5 file, read lazily.

    An uncompressed contiguous array is memory-mapped (random batches cost a NumPy gather);
    a chunked one is read row by row through h5py with a generous chunk cache (h5py's own
    fancy indexing re-reads chunks and is ~20× slower on compressed files). The file is
    opened on first use in each process, so the dataset can be handed to DataLoader workers.
    """

    def __init__(
        self,
        *,
        name: str,
        split: str,
        task: Task,
        path: Path,
        key: str,
        rows: np.ndarray,
        targets: np.ndarray,
        ids: Sequence[str],
        problems: list[InputProblem],
    ) -> None:
        self.name, self.split, self.task, self.path, self.key = name, split, task, Path(path), key
        self.rows = np.asarray(rows, dtype=np.int64)
        self.targets = np.asarray(targets)
        self.ids = list(ids)
        self.problems = problems
        self._pid: int | None = None
        self._images = None
        self._file = None

    def __len__(self) -> int:
        return len(self.rows)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_pid": None, "_images": None, "_file": None}

    def _open(self):
        if self._pid == os.getpid():
            return self._images
        import h5py

        f = h5py.File(self.path, "r", rdcc_nbytes=64 << 20)
        ds = f[self.key]
        offset = ds.id.get_offset()
        if ds.chunks is None and offset is not None:
            self._images = np.memmap(self.path, np.uint8, "r", offset=offset, shape=ds.shape)
            f.close()
        else:
            self._images, self._file = ds, f
        self._pid = os.getpid()
        return self._images

    def read_images(self, indices: Sequence[int]) -> np.ndarray:
        images = self._open()
        rows = self.rows[np.asarray(indices, dtype=np.int64).reshape(-1)]
        if isinstance(images, np.memmap):
            return np.asarray(images[rows])
        out = np.empty((len(rows), *images.shape[1:]), np.uint8)
        for j in np.argsort(rows, kind="stable"):  # file order: each chunk read once
            images.read_direct(out, np.s_[rows[j]], np.s_[j])
        return out


def read_h5_labels(
    path: Path, images_key: str, labels_key: str, num_classes: int, id_prefix: str = ""
) -> tuple[np.ndarray, np.ndarray, list[InputProblem]]:
    """Check an HDF5 image file's layout; return (usable rows, their labels, problems).

    Images must be uint8 N×H×W×3 and labels N integers; rows whose label is outside
    ``[0, num_classes)`` are left out and reported.
    """
    import h5py

    with h5py.File(path, "r") as f:
        for key in (images_key, labels_key):
            if key not in f:
                raise ValueError(f"{path}: no dataset {key!r} (has: {', '.join(sorted(f))})")
        images, labels = f[images_key], np.asarray(f[labels_key][()])
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[3] != 3:
            raise ValueError(f"{path}: {images_key!r} must be uint8 N×H×W×3, got {images.dtype} {images.shape}")
        if labels.shape != (images.shape[0],) or not np.issubdtype(labels.dtype, np.number):
            raise ValueError(f"{path}: {labels_key!r} must hold one number per image, got {labels.dtype} {labels.shape}")
    as_int = labels.astype(np.int64)
    ok = (as_int == labels) & (as_int >= 0) & (as_int < num_classes)
    problems = [
        InputProblem(f"{id_prefix}{row}", f"{path.name}[{labels_key}][{row}]", "bad_label",
                     f"label {labels[row]!r} is not a class index in [0, {num_classes})")
        for row in np.flatnonzero(~ok)
    ]
    rows = np.flatnonzero(ok)
    return rows, as_int[rows], problems
