"""``galaxyzoo demo``: train the default recipe on synthetic galaxies and report test accuracy."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from .. import registry
from .run_options import add_runtime_args, int_in, one_line_errors

RECIPE = "default"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "demo", help="train the default recipe for a few minutes and report test accuracy",
        description=f"Train the `{RECIPE}` recipe (synthetic galaxies, no downloads), evaluate it "
                    "on the test split and show where the plots and checkpoint went.",
    )
    one_line_errors(parser)
    parser.add_argument("--out", type=Path, help="run directory (default: demo_runs/TIMESTAMP)")
    parser.add_argument("--epochs", type=int_in(1, 100_000), help="override the recipe's epochs")
    add_runtime_args(parser)
    parser.set_defaults(func=run)


def _shown(path: Path) -> str:
    """Relative to the working directory when inside it: short enough to copy."""
    path = path.absolute()
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def run(args: argparse.Namespace) -> int:
    from ..workflows.evaluate import evaluate_checkpoint, format_table
    from ..workflows.train import train
    from ..workflows.train_config import TrainConfig

    recipe = registry.get_recipe(RECIPE)
    config = TrainConfig.from_recipe(recipe, epochs=args.epochs)
    out = args.out or Path("demo_runs") / time.strftime("%Y%m%d-%H%M%S")
    print(f"training recipe {recipe.name!r}: {recipe.summary}")
    started = time.perf_counter()
    result = train(config, out, workers=args.workers, device=args.device, progress=not args.quiet)
    trained = time.perf_counter() - started
    test = evaluate_checkpoint(result.best, split="test", workers=args.workers, device=args.device,
                               progress=not args.quiet)
    print(f"\ntest split ({test.samples} images):")
    print(format_table(test.metrics, test.task))
    print(f"\ntest accuracy: {test.metrics['accuracy']:.1%}   (trained in {trained / 60:.1f} min)")
    print(f"checkpoint:    {_shown(result.run_dir / 'best')}")
    print(f"plots:         {_shown(result.run_dir / 'learning_curves.png')}, "
          f"{_shown(test.out_dir / 'confusion_matrix.png')}")
    print(f"try:           galaxyzoo predict {result.run_dir} IMAGES... --out catalog.csv")
    return 0
