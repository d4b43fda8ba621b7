"""The jobs as Python calls: ``galaxyzoo.predict`` returns the catalog as a pandas DataFrame,
``ingest`` the manifest, ``evaluate`` the evaluation (metrics, table, pictures), ``train`` the
run. The CLI commands do the same work; nothing heavy is imported until a job runs.

FITS cutouts: ``bands`` (names or 0-based indices, blue to red), ``stretch`` ("asinh" in the
style of Lupton et al. 2004, or "linear"), ``q`` (asinh softening) and ``scales`` (per band)
apply to every FITS file the job reads, in this process and in worker processes (see
:mod:`galaxyzoo.data.fits`): they are set as ``GALAXYZOO_FITS_*`` environment variables for
the length of the call, which worker processes inherit, so two threads of one process running
jobs with different FITS options at once would share them. Prediction catalogs and ingest
manifests of FITS inputs get ``ra`` and ``dec`` columns (degrees, the cutout centre, from the
header's WCS; empty without one).
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

PathLike = str | os.PathLike


@contextlib.contextmanager
def fits_options(bands=None, stretch: str = "asinh", q: float = 8.0, scales=None) -> Iterator[None]:
    """Set the FITS options for the jobs run inside the block (and the processes they start)."""
    from .data.fits import FitsOptions, parse_bands

    opts = FitsOptions(bands=parse_bands(bands) if bands is not None else None, stretch=stretch, q=float(q),
                       scales=tuple(float(s) for s in scales) if scales is not None else None)
    names = ("GALAXYZOO_FITS_BANDS", "GALAXYZOO_FITS_STRETCH", "GALAXYZOO_FITS_Q", "GALAXYZOO_FITS_SCALES")
    saved = {k: os.environ.get(k) for k in names}
    for k in names:
        os.environ.pop(k, None)
    os.environ.update(opts.to_env())
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def predict(checkpoint: PathLike | Sequence[PathLike], inputs: PathLike | Sequence[PathLike],
            out: PathLike | None = None, *, gallery: PathLike | None = None, bands=None,
            stretch: str = "asinh", q: float = 8.0, scales=None, engine: str = "local",
            scheduler: str | None = None, workers: int | None = None, batch_size: int = 64,
            device: str = "auto", threads: int | None = None, progress: bool = False,
            id_column: str = "GalaxyID", image_dir: PathLike | None = None, tta: int = 1,
            decode: str = "auto"):
    """Predict images (files, folders, catalogs, ingested shard folders; JPEG, PNG or FITS)
    with a checkpoint (or a list of them: an ensemble) and return the catalog as a pandas
    DataFrame, one row per input (numbers as floats, failed inputs with NaN and their reason).

    ``out``: also write the catalog there (CSV, or Parquet for .parquet), atomically.
    ``gallery``: write a PNG of the most and least confident inputs per class, ROI boxes drawn.
    ``engine="dask"``: on a Dask cluster (``scheduler`` address, or a local one of ``workers``).
    ``decode``: ``"auto"`` (JPEGs decoded on the GPU when the model runs on CUDA and torchvision
    can), ``"cpu"`` or ``"gpu"``."""
    from .data.tables import numeric_columns
    from .workflows.predict import TEXT_COLUMNS

    checkpoints = list(checkpoint) if isinstance(checkpoint, (list, tuple)) else [checkpoint]
    inputs = [inputs] if isinstance(inputs, (str, os.PathLike)) else list(inputs)
    options = dict(batch_size=batch_size, device=device, threads=threads, progress=progress,
                   id_column=id_column, image_dir=image_dir, tta=tta, decode=decode)
    with contextlib.ExitStack() as stack:
        stack.enter_context(fits_options(bands, stretch, q, scales))
        target = Path(out) if out is not None else Path(stack.enter_context(tempfile.TemporaryDirectory())) / "c.csv"
        if engine == "dask":
            from .workflows.dask_engine import dask_client, dask_predict

            client = stack.enter_context(dask_client(scheduler, workers))
            catalog = dask_predict(checkpoints, inputs, target, client, **options)
        else:
            from .workflows.predict import predict_files

            catalog = predict_files(checkpoints, inputs, target, **options)
        frame = catalog.frame
        table = numeric_columns(frame, [c for c in frame.columns if c not in TEXT_COLUMNS])
        if gallery is not None:
            write_gallery(table, checkpoints[0], gallery)
    return table


def write_gallery(catalog, checkpoint: PathLike, path: PathLike) -> Path:
    """The prediction gallery of ``catalog`` (a DataFrame from :func:`predict`) as the model
    of ``checkpoint`` saw the inputs (its source size and ROI mode)."""
    from .data.preprocessing import Preprocessing
    from .workflows.checkpoint import read_checkpoint
    from .workflows.gallery import prediction_gallery

    meta = read_checkpoint(checkpoint)[0]
    mode = Preprocessing.from_dict(meta["preprocessing"]).mode
    return prediction_gallery(catalog, path, size=meta["source_size"], mode=mode,
                              title=f"{meta['model']}: most and least confident per class")


def ingest(src: PathLike, out: PathLike, *, catalog: PathLike | None = None, id_column: str = "GalaxyID",
           path_column: str | None = None, size: int = 64, mode: str | None = "central",
           threshold: int | str = "auto", pad: float = 0.1, shard_size: int = 4096,
           workers: int | None = None, bands=None, stretch: str = "asinh", q: float = 8.0, scales=None,
           progress: bool = False, device: str = "cpu"):
    """Ingest a folder of cutouts (or a catalog's rows, paths relative to ``src``) into crop
    shards in ``out`` (resumable) and return the manifest as a DataFrame, one row per input;
    ``frame.attrs["summary"]`` is the run's summary. Catalogs: CSV, Parquet, or with astropy
    FITS tables, VOTable, ECSV. ``device="cuda"``: JPEGs decoded and cropped on the GPU
    (:mod:`galaxyzoo.workflows.gpu_ingest`; needs torchvision)."""
    from .data.catalogs import catalog_images
    from .data.inputs import walk_images
    from .data.tables import read_table
    from .workflows.ingest import IngestOptions, ingest as run_ingest

    opts = IngestOptions(size=size, mode=mode, threshold=threshold, pad=pad, shard_size=shard_size, device=device)
    items = catalog_images(catalog, src, id_column, path_column) if catalog is not None else walk_images(src)
    with fits_options(bands, stretch, q, scales):
        summary = run_ingest(items, out, opts, workers=workers, progress=progress)
    manifest = read_table(Path(out) / "manifest.csv")
    manifest.attrs["summary"] = summary
    return manifest


def evaluate(checkpoint: PathLike | Sequence[PathLike], *, dataset: str | None = None, split: str = "test",
             dataset_options: Mapping[str, Any] | None = None, root: str | None = None,
             metrics: Sequence[str] = (), out_dir: PathLike | None = None, limit: int | None = None,
             batch_size: int = 128, workers: int | None = None, device: str = "auto", tta: int = 1,
             bands=None, stretch: str = "asinh", q: float = 8.0, scales=None, progress: bool = False):
    """Evaluate a checkpoint (or an ensemble) on a dataset split; returns the Evaluation
    (``.metrics``, ``.out_dir`` with metrics.json, plots and the worst-mistakes gallery) with
    ``.table``: the scalar metrics as a one-row DataFrame."""
    from .workflows.evaluate import evaluate_checkpoint
    from .workflows.inference import scalar_metrics

    checkpoints = list(checkpoint) if isinstance(checkpoint, (list, tuple)) else checkpoint
    with fits_options(bands, stretch, q, scales):
        result = evaluate_checkpoint(checkpoints, dataset=dataset, split=split, dataset_options=dataset_options,
                                     root=root, metrics=metrics, out_dir=out_dir, batch_size=batch_size,
                                     workers=workers, device=device, limit=limit, progress=progress, tta=tta)
    result.table = __import__("pandas").DataFrame([scalar_metrics(result.metrics)])
    return result


def train(recipe: str | None = None, *, out: PathLike, resume: bool = False, workers: int | None = None,
          device: str = "auto", progress: bool = False, **config: Any):
    """Train a model: a recipe (name) with ``config`` overrides, or ``model=..., dataset=...``
    and any TrainConfig field; returns the run (``.run_dir``, ``.best``, ``.history``...).
    ``resume=True`` continues the run in ``out``."""
    from . import registry
    from .workflows.train import train as run_train
    from .workflows.train_config import TrainConfig

    if resume:
        cfg = None
    elif recipe is not None:
        cfg = TrainConfig.from_recipe(registry.get_recipe(recipe), **config)
    else:
        cfg = TrainConfig(**config)
    return run_train(cfg, Path(out), resume=resume, workers=workers, device=device, progress=progress)
