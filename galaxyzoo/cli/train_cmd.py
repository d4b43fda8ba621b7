"""``galaxyzoo train``: train a recipe, or a model on a dataset; resume an interrupted run."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from .. import registry
from ..errors import UserError
from .run_options import MAX_BATCH, MAX_SIZE, add_runtime_args, float_in, int_in, key_value, one_line_errors


EXAMPLES = """\
examples:
  galaxyzoo train --recipe default
  galaxyzoo train --recipe default --epochs 3 --out runs/quick
  galaxyzoo train --model two_conv --dataset synthetic --size 64 --epochs 5
  galaxyzoo train --model resnet_small --dataset synthetic --dataset-opt num_samples=500
  galaxyzoo train --resume runs/quick           continue an interrupted run exactly
  torchrun --nproc_per_node=2 -m galaxyzoo.cli train --recipe default --out runs/ddp
      the same training on 2 DistributedDataParallel processes that share every batch
      (gloo on the CPU; on CUDA, nccl and one GPU per process, by LOCAL_RANK); --out is required

A run directory holds config.json, metrics.json/.csv, learning_curves.png,
confusion_matrix.png and checkpoints/, with `best` and `last` links to checkpoints.
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "train", help="train a model (a recipe, or --model on --dataset)",
        description="Train a model and write checkpoints, metrics and plots to a run directory.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    one_line_errors(parser)
    what = parser.add_argument_group("what to train")
    what.add_argument("--recipe", help="a registered recipe (see `galaxyzoo list recipes`)")
    what.add_argument("--model", help="model name (overrides the recipe's)")
    what.add_argument("--dataset", help="dataset name (overrides the recipe's)")
    what.add_argument("--resume", metavar="RUN_DIR", type=Path,
                      help="continue the run in RUN_DIR from its last complete checkpoint")
    how = parser.add_argument_group("training options (override the recipe)")
    how.add_argument("--epochs", type=int_in(1, 100_000), metavar="N")
    how.add_argument("--batch-size", type=int_in(1, MAX_BATCH), metavar="N")
    how.add_argument("--lr", type=float_in(0, 100, open_low=True), metavar="X", help="peak learning rate")
    how.add_argument("--weight-decay", type=float_in(0, 100), metavar="X")
    how.add_argument("--optimizer", metavar="NAME", help="adamw, adam, adamax or sgd (Nesterov momentum 0.9)")
    how.add_argument("--schedule", metavar="NAME", help="cosine (after a 3%% linear warm-up) or constant")
    how.add_argument("--loss", metavar="NAME",
                     help="auto (cross-entropy, or MSE for vote fractions) or balanced (class-weighted)")
    how.add_argument("--size", type=int_in(8, MAX_SIZE), metavar="PX", help="model input size in pixels")
    how.add_argument("--seed", type=int_in(0, 2**32 - 1), metavar="N", help="fixes initialisation, data order, augmentation")
    how.add_argument("--patience", type=int_in(1), metavar="N", help="stop after N epochs without improvement")
    how.add_argument("--monitor", metavar="METRIC",
                     help="scalar metric that selects the best checkpoint (default: the first)")
    how.add_argument("--metrics", type=lambda s: tuple(s.split(",")), metavar="A,B,...",
                     help="metric names (default: the recipe's, or the task's standard set)")
    how.add_argument("--augment", type=parse_augment, metavar="WHICH",
                     help="random transforms per epoch, comma-separated: rotate (any angle) or "
                          "rotate=D (within ±D degrees), flip, zoom=Z (factor log-uniform in "
                          "[1/Z, Z]), shift=S (crop moved by up to S of its side in x and y), "
                          "shear=D (horizontal shear within ±D degrees), contrast=C (factor in "
                          "[1-C, 1+C]); or none")
    how.add_argument("--roi", choices=("central", "seed", "none"),
                     help="how to find the galaxy to crop (none: the whole image)")
    how.add_argument("--model-opt", type=key_value, action="append", default=[], metavar="KEY=VALUE")
    how.add_argument("--dataset-opt", type=key_value, action="append", default=[], metavar="KEY=VALUE")
    how.add_argument("--root", metavar="DIR", help="dataset root directory")
    how.add_argument("--limit-train", type=int_in(1), metavar="N", help="train on N random samples")
    how.add_argument("--limit-val", type=int_in(1), metavar="N", help="validate on N random samples")
    parser.add_argument("--out", type=Path, metavar="DIR", help="run directory (default: runs/NAME-TIMESTAMP)")
    add_runtime_args(parser)
    # Ends the process after N epochs as if interrupted; for testing --resume.
    parser.add_argument("--stop-after-epoch", type=int_in(0), help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


def parse_augment(text: str) -> dict:
    """``rotate,flip,zoom=1.2,contrast=0.2,shift=0.2,shear=10`` (or ``rotate=40``, or
    ``none``) → augment options."""
    from ..data.augment import Augment

    values: dict = {"rotate": False, "flip": False}
    items = [item.strip() for item in text.split(",") if item.strip()]
    if items == ["none"]:
        return values
    for item in items:
        key, eq, value = item.partition("=")
        if key in ("rotate", "flip") and not eq:
            values[key] = True
        elif key in ("rotate", "zoom", "contrast", "shift", "shear") and eq:
            try:
                values[key] = float(value)
            except ValueError:
                raise argparse.ArgumentTypeError(f"{key} needs a number, got {value!r}") from None
        else:
            raise argparse.ArgumentTypeError(
                f"bad augmentation {item!r}; use rotate, rotate=D, flip, zoom=Z, shift=S, "
                f"shear=D, contrast=C or none")
    try:
        Augment.from_dict(values)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return values


def _overrides(args: argparse.Namespace) -> dict:
    values = {
        "model": args.model, "dataset": args.dataset, "epochs": args.epochs,
        "batch_size": args.batch_size, "lr": args.lr, "weight_decay": args.weight_decay,
        "optimizer": args.optimizer, "schedule": args.schedule, "loss": args.loss, "input_size": args.size,
        "seed": args.seed, "patience": args.patience, "monitor": args.monitor,
        "metrics": args.metrics, "dataset_root": args.root, "limit_train": args.limit_train,
        "limit_val": args.limit_val,
        "model_options": dict(args.model_opt) or None, "dataset_options": dict(args.dataset_opt) or None,
    }
    if args.augment is not None:
        values["augment"] = args.augment
    if args.roi:
        values["preprocess"] = {"mode": None if args.roi == "none" else args.roi}
    return {k: v for k, v in values.items() if v is not None}


def build_config(args: argparse.Namespace):
    from ..workflows.train_config import TrainConfig

    overrides = _overrides(args)
    if args.recipe:
        return TrainConfig.from_recipe(registry.get_recipe(args.recipe), **overrides)
    if not (args.model and args.dataset):
        raise UserError("give --recipe NAME, or both --model and --dataset")
    spec = registry.get_spec("model", args.model)
    base = {"input_size": spec.input_size, "augment": {"rotate": True, "flip": True}}
    return TrainConfig(**{**base, **overrides})


def run(args: argparse.Namespace) -> int:
    from ..runtime import launched_rank, launched_world_size
    from ..workflows.train import train

    if args.resume:
        given = set(_overrides(args)) | ({"recipe"} if args.recipe else set())
        if given or args.out:
            raise UserError(f"--resume continues a run with its saved settings; drop {sorted(given) or ['--out']}")
        config, out, resume = None, args.resume, True
    else:
        config = build_config(args)
        if not args.out and launched_world_size() > 1:
            # Each process would stamp its own time and could pick a different folder.
            raise UserError("under torchrun, give --out DIR so every process writes to the same run")
        stamp = time.strftime("%Y%m%d-%H%M%S")
        out = args.out or Path("runs") / f"{config.recipe or config.model}-{config.dataset}-{stamp}"
        resume = False
    result = train(config, out, resume=resume, workers=args.workers, device=args.device,
                   progress=not args.quiet, stop_after_epoch=args.stop_after_epoch)
    if launched_rank() != 0:  # under torchrun, rank 0 reports
        return 0
    epochs = len(result.history)
    print(f"run: {result.run_dir}  ({epochs} epoch{'s' if epochs != 1 else ''}"
          + (", stopped early" if result.stopped_early else "") + ")")
    print(f"best val {result.monitor}: {result.best_value:.4f}  checkpoint: {result.run_dir / 'best'}")
    print(f"plots: {result.run_dir / 'learning_curves.png'}"
          + (f", {result.run_dir / 'confusion_matrix.png'}"
             if (result.run_dir / 'confusion_matrix.png').exists() else ""))
    return 0
