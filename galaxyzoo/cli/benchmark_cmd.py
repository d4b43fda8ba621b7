"""``galaxyzoo benchmark``: models × datasets × seeds under one budget → a leaderboard."""
from __future__ import annotations

import argparse
from pathlib import Path

from .run_options import MAX_BATCH, add_runtime_args, float_in, int_in, key_value, one_line_errors


EXAMPLES = """\
examples:
  galaxyzoo benchmark --models resnet_small,two_conv --datasets synthetic --budget-minutes 2
  galaxyzoo benchmark --models gz2_sample_spiral,two_conv --datasets gz2_sample \\
      --root ../shared/data/gz2_sample --budget-minutes 15 --seeds 0,1,2 --out leaderboards/gz2_sample

A name in --models is a recipe (its settings, on each --datasets dataset) or a model (the
`train --model` defaults). DIR receives leaderboard.md/.csv/.json, plots/ and runs/; runs
already in DIR/leaderboard.json stay in the leaderboard unless this command reruns them.
"""


def _names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected a comma-separated list of names")
    return names


def _seeds(text: str) -> list[int]:
    seed = int_in(0, 2**32 - 1)
    try:
        return [seed(s) for s in _names(text)]
    except argparse.ArgumentTypeError as err:
        raise argparse.ArgumentTypeError(f"expected comma-separated seeds: {err}") from None


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "benchmark", help="compare models on datasets under one time budget; write a leaderboard",
        description="Train and evaluate every model on every dataset for every seed, with the same "
                    "split and training-time budget, and write a leaderboard (Markdown, CSV, JSON) with plots.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    one_line_errors(parser)
    parser.add_argument("--models", type=_names, required=True, metavar="A,B,...", help="models or recipes")
    parser.add_argument("--datasets", type=_names, required=True, metavar="X,Y,...")
    parser.add_argument("--budget-minutes", type=float_in(0, 1e6, open_low=True), metavar="M",
                        help="training time per run. Without --epochs each run times a short probe and "
                             "sets its epochs so that its whole schedule spans the budget; training "
                             "also stops (mid-epoch) when the budget is spent")
    parser.add_argument("--seeds", type=_seeds, default=[0], metavar="0,1,...", help="repeat with each seed")
    parser.add_argument("--rank-by", metavar="METRIC",
                        help="order each dataset's rows by this metric (default: the first one all runs share)")
    parser.add_argument("--out", type=Path, default=Path("benchmark"), metavar="DIR")
    parser.add_argument("--epochs", type=int_in(1, 100_000), metavar="N", help="epochs for every run (default: fitted to --budget-minutes; without "
                             "a budget the recipe's, or 10); with a budget it is then only the hard stop")
    parser.add_argument("--size", type=int_in(8, 2048), metavar="PX", help="input size for every model")
    parser.add_argument("--batch-size", type=int_in(1, MAX_BATCH), metavar="N")
    parser.add_argument("--root", metavar="DIR", help="dataset root directory")
    parser.add_argument("--dataset-opt", type=key_value, action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--limit-train", type=int_in(1), metavar="N")
    parser.add_argument("--limit-val", type=int_in(1), metavar="N")
    parser.add_argument("--limit-test", type=int_in(1), metavar="N")
    parser.add_argument("--tta", type=int, choices=(1, 4, 8), default=1,
                        help="test-time averaging over right-angle rotations (4) and their mirror images (8)")
    add_runtime_args(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..workflows.benchmark import run_benchmark
    from ..workflows.leaderboard import mean_std

    rows, paths = run_benchmark(
        args.models, args.datasets, args.out, budget_minutes=args.budget_minutes, seeds=args.seeds, rank_by=args.rank_by,
        limit_test=args.limit_test, workers=args.workers, device=args.device, progress=not args.quiet,
        epochs=args.epochs, input_size=args.size, batch_size=args.batch_size, dataset_root=args.root,
        dataset_options=dict(args.dataset_opt), limit_train=args.limit_train, limit_val=args.limit_val,
        tta=args.tta,
    )
    for row in rows:
        first = next(((k, v) for k, v in row.metrics.items() if k == args.rank_by), None) or \
            next(iter(row.metrics.items()), None)
        shown = f"{first[0]} {mean_std(row, first[0])}" if first else "no metrics"
        print(f"{row.dataset:<16} {row.model:<20} {shown}  ({row.train_seconds:.1f} s training)")
    print(f"leaderboard: {paths['md']}  (also {paths['csv'].name}, {paths['json'].name}, plots/)")
    return 0
