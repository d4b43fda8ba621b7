"""Fair comparisons: train and evaluate models × datasets × seeds under one time budget.

Every pair trains with the same seed-determined split and training-time budget, then the best
checkpoint is evaluated on the test split (the validation split when a dataset has none).

How the budget is spent (:func:`plan_epochs`): with a budget and no explicit ``epochs``, each
run first times two short probes (two epochs of 6 or 18 batches, thrown away, timed on the
second: their difference is the time per batch, the rest the time per epoch) and sets its epoch
count so
that its whole schedule (warm-up, cosine or step decay) spans the budget: ``floor(0.95 × budget
/ estimated epoch time)``, at least one. A model that is fast gets more epochs than its recipe's
default, a slow one fewer, and every one ends its schedule instead of being cut at a high
learning rate. :func:`galaxyzoo.train.train` still stops mid-epoch when the budget is spent
(the probe can underestimate). With explicit ``epochs`` they are used as given and the budget
is only the hard stop.

The leaderboard (``leaderboard.md``, ``.csv``, ``.json``) gives, per dataset and model, the
mean ± standard deviation over seeds of every scalar metric, the non-scalar ones averaged
(recall per class, RMSE per question, summed confusion matrices), the parameter count,
training time, training and inference images per second, the epochs run, what the model's
source reports, published anchor rows (:data:`ANCHORS`), and links to each run's learning
curves and confusion matrix; ``plots/`` holds a metric-versus-training-time scatter per
dataset. Runs already in ``OUT/leaderboard.json`` are kept unless rerun (same dataset, model
and seed), so a leaderboard can be filled by several commands.
"""
from __future__ import annotations

import math
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

from .. import registry
from ..errors import UserError
from .checkpoint import load_model
from .evaluate import evaluate_checkpoint
from .inference import scalar_metrics
from .train import _open_datasets, train
from .train_config import TrainConfig
from .leaderboard import (  # noqa: F401  (re-exported: the benchmark's public names)
    ANCHORS, Anchor, Row, RunResult, aggregate, anchor_rows, previous_runs, write_leaderboard,
)


# Every benchmark run measures these (a recipe's own metrics when they fit the dataset's task).
BENCHMARK_METRICS = {
    "classification": ("accuracy", "balanced_accuracy", "macro_f1", "recall_per_class", "confusion_matrix",
                       "roc_auc_ovr"),
    "vote_fractions": ("rmse", "rmse_per_question"),
}
_VOTE_ONLY_OPTIONS = ("head", "head_activation")  # the GZ2 tree head needs the 37 vote columns


def _fit_task(config: TrainConfig) -> TrainConfig:
    """The recipe's metrics and model options, adapted to the dataset's task: a vote-fraction
    recipe on a classification dataset gets the classification metrics and a plain head."""
    task = registry.get_spec("dataset", config.dataset).task
    if task is None:
        return config
    fits = all(task.kind in registry.get_spec("metric", m).tasks for m in config.metrics)
    if not config.metrics or not fits:
        config.metrics = BENCHMARK_METRICS[task.kind]
    if task.kind != "vote_fractions":
        config.model_options = {k: v for k, v in config.model_options.items() if k not in _VOTE_ONLY_OPTIONS}
    return config


def config_for(name: str, dataset: str, seed: int, *, epochs: int | None = None,
               input_size: int | None = None, batch_size: int | None = None,
               dataset_options: dict | None = None, **overrides: Any) -> TrainConfig:
    """A recipe (its dataset replaced by ``dataset``) or a model with the CLI's defaults."""
    common = dict(dataset=dataset, seed=seed, epochs=epochs, input_size=input_size, batch_size=batch_size,
                  **overrides)
    if name in registry.list_recipes(name):
        recipe = registry.get_recipe(name)
        config = TrainConfig.from_recipe(recipe, **common)
        if recipe.dataset != dataset:  # a recipe's dataset options belong to its own dataset
            config.dataset_options = {}
    else:
        spec = registry.get_spec("model", name)
        config = TrainConfig(model=name, dataset=dataset, input_size=input_size or spec.input_size,
                             augment={"rotate": True, "flip": True},
                             **{k: v for k, v in common.items() if v is not None and k not in ("dataset", "input_size")})
    config.dataset_options = {**config.dataset_options, **(dataset_options or {})}
    return _fit_task(config)


def _evaluation_split(dataset: str) -> str:
    splits = registry.get_spec("dataset", dataset).splits
    return "test" if not splits or "test" in splits else "val"


FILL = 0.95  # share of the budget the planned epochs aim at (the probe's estimate is rough)
PROBE_BATCHES = (6, 18)  # two probe lengths: their difference separates per-batch from per-epoch time


@dataclass(frozen=True)
class EpochCost:
    """Training time of an epoch of ``n`` batches: ``overhead_s + n × batch_s``."""

    overhead_s: float  # per epoch: the loader's pipeline refilling, first-batch costs
    batch_s: float

    def seconds(self, batches: int) -> float:
        return self.overhead_s + batches * self.batch_s


def epochs_for_budget(budget_s: float, epoch_seconds: float, fill: float = FILL) -> int:
    """Whole epochs that fit ``fill`` of the budget (at least one)."""
    if epoch_seconds <= 0 or not math.isfinite(epoch_seconds):
        raise ValueError(f"epoch time must be positive, got {epoch_seconds}")
    return max(1, int(fill * budget_s // epoch_seconds))


def probe_seconds(config: TrainConfig, batches: int, *, workers: int | None = None, device: str = "auto") -> float:
    """Training seconds of the second epoch of a throw-away run of two ``batches``-batch
    epochs (constant rate, nothing kept). The first epoch pays the one-off start (loader
    worker processes, first-touch allocations), which a real run pays once."""
    probe = TrainConfig.from_dict({**asdict(config), "epochs": 2, "schedule": "constant",
                                   "limit_train": batches * config.batch_size,
                                   "limit_val": config.batch_size, "patience": None})
    with tempfile.TemporaryDirectory(prefix="galaxyzoo-probe-") as tmp:
        result = train(probe, Path(tmp) / "probe", workers=workers, device=device, progress=False)
    return float(result.history[-1]["train_seconds"])


def probe_epoch_cost(config: TrainConfig, *, workers: int | None = None, device: str = "auto") -> EpochCost:
    """Per-batch and per-epoch training time, from probes of two lengths. One short probe
    alone mistook the per-epoch cost for per-batch cost: dieleman's 6-batch probe measured
    22.7 images/s where its epochs then trained at ~41, and it would have used half its budget."""
    short, long = PROBE_BATCHES
    t_short, t_long = (probe_seconds(config, n, workers=workers, device=device) for n in PROBE_BATCHES)
    batch_s = max((t_long - t_short) / (long - short), t_long / long / 4, 1e-6)  # noise never makes it ~0
    return EpochCost(overhead_s=max(t_short - short * batch_s, 0.0), batch_s=batch_s)


def plan_epochs(config: TrainConfig, budget_s: float, *, workers: int | None = None,
                device: str = "auto") -> tuple[int, float]:
    """(epochs whose schedule spans the budget, the probe's steady training images/s)."""
    images = len(_open_datasets(config)[0])
    batches = images // config.batch_size if images > config.batch_size else 1  # drop_last as in training
    if batches <= PROBE_BATCHES[1]:  # whole epochs are as short as a probe: time one directly
        seconds = probe_seconds(config, batches, workers=workers, device=device)
        return epochs_for_budget(budget_s, seconds), batches * config.batch_size / max(seconds, 1e-9)
    cost = probe_epoch_cost(config, workers=workers, device=device)
    return epochs_for_budget(budget_s, cost.seconds(batches)), config.batch_size / cost.batch_s


def run_one(name: str, dataset: str, seed: int, out: Path, *, budget_s: float | None,
            limit_test: int | None = None, workers: int | None = None, device: str = "auto",
            progress: bool = False, tta: int = 1, **config_options: Any) -> RunResult:
    config = config_for(name, dataset, seed, **config_options)
    relative = Path("runs", dataset, name, f"seed{seed}")
    run_dir = out / relative
    if run_dir.exists():  # a rerun of this (dataset, model, seed) replaces the earlier one
        if progress:
            print(f"benchmark: replacing the earlier run in {run_dir}", flush=True)
        shutil.rmtree(run_dir)
    planned = speed = None
    if budget_s is not None and config_options.get("epochs") is None:
        planned, speed = plan_epochs(config, budget_s, workers=workers, device=device)
        config.epochs = planned
        if progress:
            print(f"benchmark: {name}: probe {speed:.1f} training images/s -> {planned} epochs "
                  f"for the {budget_s / 60:g}-minute budget", flush=True)
    result = train(config, run_dir, workers=workers, device=device, progress=progress, time_budget_s=budget_s)
    split = _evaluation_split(dataset)
    started = time.perf_counter()
    evaluation = evaluate_checkpoint(result.best, split=split, limit=limit_test, out_dir=run_dir / f"eval-{split}",
                                     metrics=config.metrics, workers=workers, device=device, progress=progress,
                                     tta=tta)
    infer_seconds = time.perf_counter() - started
    model, _, _ = load_model(result.best)
    train_seconds = sum(r["train_seconds"] for r in result.history)
    train_images = sum(r["train_images"] for r in result.history)
    scalars = scalar_metrics(evaluation.metrics)
    return RunResult(
        dataset=dataset, model=name, seed=seed, run_dir=relative.as_posix(), split=split,
        metrics=scalars, params=sum(p.numel() for p in model.parameters()),
        epochs=len(result.history), train_seconds=train_seconds,
        train_images_per_s=train_images / max(train_seconds, 1e-9),
        infer_images_per_s=evaluation.samples / max(infer_seconds, 1e-9),
        details={k: v for k, v in evaluation.metrics.items() if k not in scalars and isinstance(v, list)},
        budget_s=budget_s, planned_epochs=planned, probe_images_per_s=speed,
    )


def run_benchmark(models: Sequence[str], datasets: Sequence[str], out: Path | str, *,
                  budget_minutes: float | None = None, seeds: Sequence[int] = (0,), rank_by: str | None = None,
                  limit_test: int | None = None, workers: int | None = None, device: str = "auto",
                  progress: bool = True, tta: int = 1,
                  **config_options: Any) -> tuple[list[Row], dict[str, Path]]:
    """Train and evaluate every model on every dataset for every seed; write the leaderboard.

    ``config_options`` (epochs, input_size, batch_size, limit_train, limit_val, dataset_root,
    dataset_options) apply to every run alike. ``tta`` (1, 4 or 8) averages each test prediction
    over that many right-angle rotations and flips (inference images/s then include every view).
    """
    out = Path(out)
    if not models or not datasets or not seeds:
        raise UserError("give at least one model, one dataset and one seed")
    for name in models:  # fail before hours of training, not after
        if name not in registry.list_recipes(name):
            registry.get_spec("model", name)
    for dataset in datasets:
        registry.get_spec("dataset", dataset)
    if rank_by is not None:
        registry.get_spec("metric", rank_by)
    budget_s = None if budget_minutes is None else 60.0 * budget_minutes
    runs = []
    for dataset in datasets:
        for name in models:
            for seed in seeds:
                if progress:
                    print(f"benchmark: {name} on {dataset}, seed {seed}", flush=True)
                runs.append(run_one(name, dataset, seed, out, budget_s=budget_s, limit_test=limit_test,
                                    workers=workers, device=device, progress=progress, tta=tta,
                                    **config_options))
    runs = previous_runs(out, runs) + runs
    rows = aggregate(runs, rank_by)
    # seeds: of every run in the leaderboard, kept ones included (it may be filled by several commands)
    settings = {"budget_minutes": budget_minutes, "seeds": sorted({r.seed for r in runs}), "rank_by": rank_by,
                "device": device,
                "tta": tta,
                **{k: v for k, v in config_options.items() if v not in (None, {})}}
    return rows, write_leaderboard(rows, runs, out, settings)
