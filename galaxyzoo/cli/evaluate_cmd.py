"""``galaxyzoo evaluate``: metrics of a checkpoint, or an ensemble of them, on a dataset split, with plots."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from .fits_options import add_fits_args, fits_kwargs
from .run_options import MAX_BATCH, add_runtime_args, int_in, key_value, one_line_errors

EXAMPLES = """\
examples:
  galaxyzoo evaluate runs/my-run                 the run's best checkpoint on its dataset's test split
  galaxyzoo evaluate runs/my-run/last --split val
  galaxyzoo evaluate runs/my-run --tta 8         averaged over 4 rotations x 2 flips
  galaxyzoo evaluate runs/a --ensemble runs/b --ensemble runs/c --tta 4
                                                 the mean of three models, each averaged over 4 rotations
  galaxyzoo evaluate runs/my-run --dataset gz2_sample --root ../shared/data/gz2_sample
  galaxyzoo evaluate runs/my-run --dataset catalog --root survey --bands g,r,i --stretch asinh
                                                 a catalog of FITS cutouts, bands g, r, i as B, G, R
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "evaluate", help="evaluate a checkpoint (or an ensemble) on a dataset split",
        description="Compute metrics of a trained model on a dataset split; write metrics.json "
                    "and plots (default: RUN_DIR/eval-DATASET-SPLIT/). With --ensemble, of the "
                    "equal-weight mean of several models' probabilities (vote fractions), each "
                    "model preprocessing the samples as it was trained (default output: "
                    "RUN_DIR_OF_FIRST/eval-ensemble-DATASET-SPLIT/; metrics.json lists every "
                    "checkpoint).",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    one_line_errors(parser)
    parser.add_argument("checkpoint", type=Path, help="a checkpoint directory, or a run directory (uses best)")
    parser.add_argument("--ensemble", type=Path, action="append", default=[], metavar="CHECKPOINT",
                        help="another checkpoint or run directory to average with CHECKPOINT (repeat "
                             "for more); all must share the task: its kind and outputs, in order")
    parser.add_argument("--dataset", help="dataset name (default: the one the (first) model was trained on)")
    parser.add_argument("--split", default="test", help="dataset split (default: test)")
    parser.add_argument("--dataset-opt", type=key_value, action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--root", help="dataset root directory")
    parser.add_argument("--metrics", type=lambda s: tuple(s.split(",")), default=(),
                        help="comma-separated metric names (default: the task's standard set)")
    parser.add_argument("--limit", type=int_in(1), metavar="N", help="evaluate N random samples")
    parser.add_argument("--batch-size", type=int_in(1, MAX_BATCH), default=128)
    parser.add_argument("--out", type=Path, help="where to write metrics.json and plots")
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON")
    parser.add_argument("--tta", type=int, choices=(1, 4, 8), default=1, metavar="N",
                        help="average predictions over N right-angle rotations/flips: 1 (none, "
                             "default), 4 rotations, or 8 with their mirror images (each ensemble "
                             "member, before the members are averaged)")
    add_runtime_args(parser)
    add_fits_args(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..api import evaluate  # the Python API's function: the same evaluation, FITS options
    from ..workflows.evaluate import format_table

    result = evaluate(
        [args.checkpoint, *args.ensemble], dataset=args.dataset, split=args.split,
        dataset_options=dict(args.dataset_opt),
        root=args.root, metrics=args.metrics, out_dir=args.out, batch_size=args.batch_size,
        workers=args.workers, device=args.device, limit=args.limit, progress=not args.quiet,
        tta=args.tta, **fits_kwargs(args),
    )
    if args.json:
        print(json.dumps(result.metrics, indent=2))
    else:
        members = len(result.checkpoints)
        print(f"{result.samples} samples" + (f", ensemble of {members} models" if members > 1 else "")
              + (f", averaged over {result.tta} views" if result.tta > 1 else "")
              + (f"; {result.excluded} unreadable image(s) excluded (listed in metrics.json)"
                 if result.excluded else ""))
        print(format_table(result.metrics, result.task))
        print(f"\nwritten to {result.out_dir}")
    return 0
