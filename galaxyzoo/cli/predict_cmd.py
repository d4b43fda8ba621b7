"""``galaxyzoo predict``: a catalog of predictions for image files, by one model or an ensemble."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import UserError
from .engine_options import add_engine_args, check_local_engine
from .fits_options import add_fits_args, fits_kwargs
from .run_options import MAX_BATCH, MAX_WORKERS, device_name, int_in, one_line_errors



EXAMPLES = """\
examples:
  galaxyzoo predict runs/my-run images/ --out catalog.csv
  galaxyzoo predict runs/my-run/best a.jpg b.png --out catalog.csv
  galaxyzoo predict runs/my-run shards/ --out catalog.parquet      (a `galaxyzoo ingest` folder)
  galaxyzoo predict runs/my-run labels.csv --image-dir images/ --out catalog.csv
  galaxyzoo predict runs/a images/ --ensemble runs/b --ensemble runs/c --tta 8 --out catalog.csv
                                       (the mean of three models, each averaged over 8 views)

One row per input. Classification: id (file stem or catalog id), path, status (ok or error),
error (reason for inputs that could not be read), the predicted class and per-class
probabilities. Vote fractions: the Kaggle submission columns GalaxyID, Class1.1 ... Class11.6,
then path, status and error. An ensemble writes the same columns: the equal-weight mean of
its models' probabilities (vote fractions), each model preprocessing the same decoded images
as it was trained (its own input size and normalisation).

On a Dask cluster (pip install "galaxyzoo[dask]"; the same catalog):
  galaxyzoo predict runs/my-run shards/ --out catalog.csv --engine dask --workers 4
  galaxyzoo predict runs/my-run shards/ --out catalog.csv --engine dask --scheduler tcp://head:8786 --device cuda
Each worker loads the checkpoint (every ensemble member) once and reads its inputs by the
paths given here (a shared filesystem); this process writes the catalog, in input order.
--device applies on the workers: cuda gives each worker its visible GPU (one worker per GPU,
e.g. with dask-cuda).
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "predict", help="predict images, catalogs or ingested shards into a CSV or Parquet catalog",
        description="Run a trained model, or an ensemble of them (--ensemble), over images (files, "
                    "folders, catalogs, ingested shards) and write a catalog.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    one_line_errors(parser)
    parser.add_argument("checkpoint", type=Path, help="a checkpoint directory, or a run directory (uses best)")
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="image files, folders, catalog CSVs or `galaxyzoo ingest` output folders")
    parser.add_argument("--ensemble", type=Path, action="append", default=[], metavar="CHECKPOINT",
                        help="another checkpoint or run directory to average with CHECKPOINT (repeat "
                             "for more); all must share the task, the source image size and the ROI mode")
    parser.add_argument("--out", type=Path, required=True, help="catalog to write: CSV, or Parquet for a .parquet name")
    parser.add_argument("--id-column", default="GalaxyID", help="id column of catalog CSV inputs")
    parser.add_argument("--image-dir", type=Path,
                        help="folder of a catalog's images, <id>.jpg|.jpeg|.png (default: the CSV's folder)")
    parser.add_argument("--batch-size", type=int_in(1, MAX_BATCH), default=64)
    parser.add_argument("--threads", type=int_in(1, 256), help="decoding threads (default: cores, at most 8; with "
                                                    "--engine dask, per task: the worker machine's cores "
                                                    "shared among its worker threads)")
    parser.add_argument("--device", type=device_name, default="auto", help="auto (CUDA when available), cpu or cuda[:N]")
    parser.add_argument("--decode", choices=("auto", "cpu", "gpu"), default="auto",  # predict.DECODE_CHOICES
                        help="where JPEG files are decoded: auto (on the GPU when the model runs on CUDA "
                             "and torchvision can decode there, else on the CPU), cpu, or gpu (an error "
                             "where it cannot); the same rows either way, pixels within a grey level")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--gallery", type=Path, metavar="PNG", help="also write a PNG of the most and least "
                        "confident inputs per class (top vote answers for vote models), ROI boxes drawn")
    add_fits_args(parser)
    parser.add_argument("--tta", type=int, choices=(1, 4, 8), default=1, metavar="N",
                        help="average predictions over N right-angle rotations/flips: 1 (none, "
                             "default), 4 rotations, or 8 with their mirror images (each ensemble "
                             "member, before the members are averaged)")
    parser.add_argument("--workers", type=int_in(1, MAX_WORKERS), metavar="N",
                        help="with --engine dask: a local cluster of N processes (default: every core)")
    add_engine_args(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..api import predict  # the Python API's function: same catalog, RA/Dec for FITS, gallery

    if args.engine != "dask":
        if args.workers is not None:
            raise UserError("--workers is for --engine dask (locally, --threads sets decoding threads)")
        check_local_engine(args)
    frame = predict([args.checkpoint, *args.ensemble], args.inputs, args.out, gallery=args.gallery,
                    engine=args.engine, scheduler=args.scheduler, workers=args.workers,
                    batch_size=args.batch_size, device=args.device, threads=args.threads,
                    progress=not args.quiet, id_column=args.id_column, image_dir=args.image_dir,
                    tta=args.tta, decode=args.decode, **fits_kwargs(args))
    rows, errors = len(frame), int((frame["status"] == "error").sum())
    print(f"{rows} rows written to {args.out}" + (f", gallery in {args.gallery}" if args.gallery else ""))
    if errors:
        print(f"{errors} input(s) could not be read; see the status/error columns", file=sys.stderr)
    return 1 if errors == rows else 0
