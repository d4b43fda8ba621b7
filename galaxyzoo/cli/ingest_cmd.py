"""``galaxyzoo ingest``: a folder or catalog of images → uint8 crop shards + a manifest."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import UserError
from .engine_options import add_engine_args, check_local_engine
from .fits_options import add_fits_args, apply_fits_env
from .run_options import MAX_SIZE, MAX_WORKERS, float_in, int_in, one_line_errors



EXAMPLES = """\
examples:
  galaxyzoo ingest images/ --out shards/ --size 64
  galaxyzoo ingest images/ --catalog labels.csv --id-column GalaxyID --out shards/

Writes shard-NNNNN.npy (uint8 N x 3 x S x S crops, memory-mappable) and shard-NNNNN.csv per
shard, then manifest.csv (and manifest.parquet): one row per input with id, path, shard, index
in the shard, ROI box x0,y0,x1,y1 in original pixels, status (ok/error) and error reason.
Rerunning with the same --out resumes: finished shards are skipped.

On a Dask cluster (pip install "galaxyzoo[dask]"; same output, byte for byte):
  galaxyzoo ingest images/ --out shards/ --engine dask --workers 8       (a local cluster)
  galaxyzoo ingest images/ --out shards/ --engine dask --scheduler tcp://head:8786
Workers read the image files by the paths given here (a shared filesystem); this process
writes the shards and the manifest.

On a GPU (torchvision 0.19+ and a CUDA device; --workers does not apply):
  galaxyzoo ingest images/ --out shards/ --device cuda
JPEGs are decoded in batches by nvJPEG, their ROIs found and cropped on the device; PNG, FITS,
CMYK and anything the GPU cannot decode go through the CPU path. The rows are the CPU path's;
boxes agree to a pixel or two for most images (see galaxyzoo/workflows/gpu_ingest.py).
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "ingest", help="turn a folder or catalog of images into crop shards + a manifest",
        description="Decode, find ROIs, crop and resize every image into uint8 shards (resumable).",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    one_line_errors(parser)
    parser.add_argument("src", type=Path, help="folder of JPEG/PNG files (walked recursively), "
                                                "or the image folder of --catalog")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--size", type=int_in(8, MAX_SIZE), default=64, help="crop side in pixels (default 64)")
    parser.add_argument("--mode", default="central", choices=["central", "seed", "none"],
                        help="ROI mode for ops.find_roi; none keeps the whole image")
    parser.add_argument("--threshold", type=threshold, default="auto", help="ROI grey threshold or auto")
    parser.add_argument("--pad", type=float_in(0, 10), default=0.1, help="ROI padding fraction")
    parser.add_argument("--workers", type=int_in(0, MAX_WORKERS), help="worker processes (default: every core; 0: none); "
                                                    "with --engine dask, a local cluster of N processes")
    parser.add_argument("--shard-size", type=int_in(1, 1 << 20), default=4096, help="inputs per shard")
    parser.add_argument("--catalog", type=Path, help="CSV listing the inputs (one per row)")
    parser.add_argument("--id-column", default="GalaxyID", help="catalog id column")
    parser.add_argument("--path-column", help="catalog column with image paths relative to SRC "
                                              "(default: SRC/<id>.jpg|.jpeg|.png)")
    parser.add_argument("--decoder", default="full", choices=["full", "roi"],
                        help="full: decode the whole JPEG (default); roi: decode only the ROI's blocks "
                             "(libjpeg-turbo build; crops within a few levels of full's, not byte-identical)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                        help="cpu: decode and crop in worker processes (default); cuda: decode JPEGs in "
                             "batches on the GPU (torchvision nvJPEG) and crop there, in this process")
    parser.add_argument("--allow-outside-paths", action="store_true",
                        help="let catalog paths lead outside SRC (refused by default)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_engine_args(parser)
    add_fits_args(parser)
    parser.set_defaults(func=run)


def threshold(text: str) -> str | int:
    """``auto`` or a grey level 0..255."""
    return text if text == "auto" else int_in(0, 255)(text)


def run(args: argparse.Namespace) -> int:
    from ..data.catalogs import catalog_images
    from ..data.inputs import walk_images
    from ..workflows.ingest import IngestOptions, ingest

    if not args.src.is_dir():
        raise UserError(f"{args.src} is not a folder")
    opts = IngestOptions(size=args.size, mode=None if args.mode == "none" else args.mode,
                         threshold=args.threshold, pad=args.pad, shard_size=args.shard_size,
                         decoder=args.decoder, device=args.device)
    if args.catalog:  # CSV, Parquet, or with astropy a FITS table, VOTable, ECSV
        inputs = catalog_images(args.catalog, args.src, args.id_column, args.path_column,
                                allow_outside=args.allow_outside_paths)
    else:
        inputs = walk_images(args.src)
    apply_fits_env(args)  # FITS cutouts: bands and stretch, here and in the workers
    if args.engine == "dask":
        if args.device != "cpu":
            raise UserError("--device cuda decodes in this process: use it with --engine local")
        from ..workflows.dask_engine import dask_client, dask_ingest

        with dask_client(args.scheduler, args.workers) as client:
            summary = dask_ingest(inputs, args.out, client, opts, progress=not args.quiet)
    else:
        check_local_engine(args)
        summary = ingest(inputs, args.out, opts, workers=args.workers, progress=not args.quiet)
    print(summary)
    return 1 if summary.inputs and summary.ok == 0 and summary.errors else 0
