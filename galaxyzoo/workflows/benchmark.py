"""Fair comparisons: train and evaluate models × datasets × seeds under one time budget.

Every pair trains with the same seed-determined split, epochs and training-time budget
(:func:`galaxyzoo.train.train` stops mid-epoch when it is spent), then the best checkpoint is
evaluated on the test split (the validation split when a dataset has none). The leaderboard
(``leaderboard.md``, ``.csv``, ``.json``) gives, per dataset and model, the mean ± standard
deviation over seeds of every scalar metric, the parameter count, training time, training
and inference images per second, and links to each run's learning curves and confusion
matrix; ``plots/`` holds a metric-versus-training-time scatter per dataset.
"""
from __future__ import annotations

import csv
import io
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .. import registry
from ..atomic import atomic_write_bytes, atomic_write_json
from . import plots
from ..errors import UserError
from .checkpoint import load_model
from .evaluate import evaluate_checkpoint
from .inference import scalar_metrics
from .train import train
from .train_config import TrainConfig


@dataclass
class RunResult:
    """One (dataset, model, seed) run."""

    dataset: str
    model: str
    seed: int
    run_dir: str  # relative to the benchmark's output directory
    split: str
    metrics: dict[str, float]
    params: int
    epochs: int
    train_seconds: float
    train_images_per_s: float
    infer_images_per_s: float


@dataclass
class Row:
    """A leaderboard line: one model on one dataset, aggregated over seeds."""

    dataset: str
    model: str
    seeds: list[int]
    metrics: dict[str, tuple[float, float]]  # name → (mean, std)
    params: int
    train_seconds: float
    train_images_per_s: float
    infer_images_per_s: float
    runs: list[str] = field(default_factory=list)


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
    return config


def _evaluation_split(dataset: str) -> str:
    splits = registry.get_spec("dataset", dataset).splits
    return "test" if not splits or "test" in splits else "val"


def run_one(name: str, dataset: str, seed: int, out: Path, *, budget_s: float | None,
            limit_test: int | None = None, workers: int | None = None, device: str = "auto",
            progress: bool = False, tta: int = 1, **config_options: Any) -> RunResult:
    config = config_for(name, dataset, seed, **config_options)
    relative = Path("runs", dataset, name, f"seed{seed}")
    run_dir = out / relative
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
    return RunResult(
        dataset=dataset, model=name, seed=seed, run_dir=relative.as_posix(), split=split,
        metrics=scalar_metrics(evaluation.metrics), params=sum(p.numel() for p in model.parameters()),
        epochs=len(result.history), train_seconds=train_seconds,
        train_images_per_s=train_images / max(train_seconds, 1e-9),
        infer_images_per_s=evaluation.samples / max(infer_seconds, 1e-9),
    )


def aggregate(runs: Sequence[RunResult], rank_by: str | None = None) -> list[Row]:
    """One row per (dataset, model); datasets in first-seen order, rows within a dataset best
    first by ``rank_by`` (default: the first metric that every row of the dataset has)."""
    groups: dict[tuple[str, str], list[RunResult]] = {}
    for run in runs:
        groups.setdefault((run.dataset, run.model), []).append(run)
    rows = []
    for (dataset, model), group in groups.items():
        names = list(dict.fromkeys(k for r in group for k in r.metrics))
        stats = {}
        for n in names:
            values = np.array([r.metrics[n] for r in group if n in r.metrics], dtype=float)
            stats[n] = (float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0)
        rows.append(Row(
            dataset=dataset, model=model, seeds=[r.seed for r in group], metrics=stats,
            params=group[0].params,
            train_seconds=float(np.mean([r.train_seconds for r in group])),
            train_images_per_s=float(np.mean([r.train_images_per_s for r in group])),
            infer_images_per_s=float(np.mean([r.infer_images_per_s for r in group])),
            runs=[r.run_dir for r in group],
        ))
    ranked = []
    for dataset in dict.fromkeys(r.dataset for r in rows):
        ranked += _ranked([r for r in rows if r.dataset == dataset], rank_by)
    return ranked


def _ranked(rows: list[Row], rank_by: str | None) -> list[Row]:
    common = [n for n in rows[0].metrics if all(n in r.metrics for r in rows)]
    name = rank_by if rank_by is not None else (common[0] if common else None)
    if name is None:
        return rows
    if name not in common:
        raise UserError(f"cannot rank by {name!r}: not every run measured it (common: {common})")
    sign = -1.0 if registry.get_spec("metric", name).higher_is_better else 1.0
    return sorted(rows, key=lambda r: sign * r.metrics[name][0])


def _metric_columns(rows: Sequence[Row]) -> list[str]:
    return list(dict.fromkeys(n for r in rows for n in r.metrics))


def write_leaderboard(rows: Sequence[Row], runs: Sequence[RunResult], out: Path, settings: dict) -> dict[str, Path]:
    """leaderboard.md/.csv/.json and plots/ under ``out``; returns the written paths by name."""
    out.mkdir(parents=True, exist_ok=True)
    metrics = _metric_columns(rows)
    paths = {"json": out / "leaderboard.json", "csv": out / "leaderboard.csv", "md": out / "leaderboard.md"}
    atomic_write_json(paths["json"], {"settings": settings, "rows": [asdict(r) for r in rows],
                                      "runs": [asdict(r) for r in runs]})

    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["dataset", "model", "seeds"] + [f"{m}_{s}" for m in metrics for s in ("mean", "std")]
                    + ["params", "train_seconds", "train_images_per_s", "infer_images_per_s"])
    for r in rows:
        values = [f"{v:.6g}" for m in metrics for v in r.metrics.get(m, (np.nan, np.nan))]
        writer.writerow([r.dataset, r.model, " ".join(map(str, r.seeds)), *values, r.params,
                         f"{r.train_seconds:.3f}", f"{r.train_images_per_s:.2f}", f"{r.infer_images_per_s:.2f}"])
    atomic_write_bytes(paths["csv"], text.getvalue().encode())

    plots = _plot_metric_vs_time(rows, out)
    lines = ["# Leaderboard", "", _settings_line(settings), ""]
    for dataset in dict.fromkeys(r.dataset for r in rows):
        part = [r for r in rows if r.dataset == dataset]
        names = _metric_columns(part)
        lines += [f"## {dataset}", "",
                  "| model | " + " | ".join(names) + " | params | train s | train img/s | infer img/s | runs |",
                  "|---" * (len(names) + 6) + "|"]
        for r in part:
            cells = [_mean_std(r, n) for n in names]
            links = ", ".join(_run_links(Path(d), out) for d in r.runs)
            lines.append(f"| {r.model} | " + " | ".join(cells)
                         + f" | {r.params:,} | {r.train_seconds:.1f} | {r.train_images_per_s:.1f} "
                         f"| {r.infer_images_per_s:.1f} | {links} |")
        lines += [""] + [f"![{p.stem}]({p.relative_to(out).as_posix()})" for p in plots.get(dataset, [])] + [""]
    atomic_write_bytes(paths["md"], "\n".join(lines).encode())
    return paths


def _mean_std(row: Row, metric: str) -> str:
    """``mean ± std`` over the row's seeds; the value alone for one seed, whose spread is unknown."""
    if metric not in row.metrics:
        return "–"
    mean, std = row.metrics[metric]
    return f"{mean:.4f} ± {std:.4f}" if len(row.seeds) > 1 else f"{mean:.4f}"


def _settings_line(settings: dict) -> str:
    return "Settings: " + ", ".join(f"{k} = {v}" for k, v in settings.items() if v is not None) + \
        ". Mean ± standard deviation over seeds, on each dataset's test split (val when it has none)."


def _run_links(rel: Path, out: Path) -> str:
    links = [f"[{rel.name}]({rel.as_posix()})", f"[curves]({(rel / 'learning_curves.png').as_posix()})"]
    confusion = next(iter(sorted((out / rel).glob("eval-*/confusion_matrix.png"))), None)
    if confusion is not None:
        links.append(f"[confusion]({(rel / confusion.relative_to(out / rel)).as_posix()})")
    return " ".join(links)


def _plot_metric_vs_time(rows: Sequence[Row], out: Path) -> dict[str, list[Path]]:
    made: dict[str, list[Path]] = {}
    for dataset in dict.fromkeys(r.dataset for r in rows):
        part = [r for r in rows if r.dataset == dataset]
        for name in _metric_columns(part):
            plt, (fig, ax) = plots.figure(figsize=(5.5, 3.8))
            for i, r in enumerate(part):
                if name in r.metrics:
                    mean, std = r.metrics[name]
                    ax.errorbar(r.train_seconds, mean, yerr=std, fmt="o", color=f"C{i % 10}", label=r.model, capsize=3)
            ax.set(xlabel="training time per run (s)", ylabel=name, title=f"{dataset}: {name} vs training time")
            ax.grid(alpha=0.3)
            ax.legend(fontsize="small")
            path = out / "plots" / f"{dataset}-{name}-vs-time.png"
            path.parent.mkdir(exist_ok=True)
            plots.save_png(plt, fig, path)
            made.setdefault(dataset, []).append(path)
    return made


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
    rows = aggregate(runs, rank_by)
    settings = {"budget_minutes": budget_minutes, "seeds": list(seeds), "rank_by": rank_by, "device": device,
                "tta": tta,
                **{k: v for k, v in config_options.items() if v not in (None, {})}}
    return rows, write_leaderboard(rows, runs, out, settings)
