"""The leaderboard of a benchmark: runs aggregated over seeds, published anchor rows, and the
``leaderboard.md`` / ``.csv`` / ``.json`` files with their plots (see :mod:`.benchmark`)."""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .. import registry
from ..atomic import atomic_write_bytes, atomic_write_json
from ..data.tables import rows_frame, write_table
from ..errors import UserError
from . import plots

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
    details: dict[str, Any] = field(default_factory=dict)  # non-scalar metrics (lists)
    budget_s: float | None = None
    planned_epochs: int | None = None  # from the budget (None: as configured)
    probe_images_per_s: float | None = None


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
    details: dict[str, Any] = field(default_factory=dict)  # mean over seeds (confusion: summed)
    epochs: float = 0.0
    reported: str = ""  # what the model's source reports (a recipe's ``reported``)
    anchor: bool = False  # a published figure, not a run
    budget_minutes: float | None = None  # the runs' training budget (None: none)


@dataclass(frozen=True)
class Anchor:
    """A published result shown as a leaderboard row beside the runs (not trained here)."""

    model: str
    metrics: Mapping[str, float]
    details: Mapping[str, Any]
    reported: str


# Published figures for the datasets that have them.
ANCHORS: dict[str, tuple[Anchor, ...]] = {
    "gz2_zhu5": (Anchor(
        model="Zhu et al. 2019 ResNet variant (paper)",
        metrics={"accuracy": 0.9521},
        details={"recall_per_class": [0.9668, 0.9442, 0.5862, 0.9436, 0.9770]},
        reported="95.21% test accuracy; trained on ~23,000 images (80% of 28,790) on a GPU "
                 "(Zhu et al. 2019, Ap&SS 364:55, arXiv:1807.10406)",
    ),),
}


def _mean_details(group: Sequence[RunResult]) -> dict[str, Any]:
    """Non-scalar metrics over seeds: confusion matrices summed, anything else averaged."""
    out: dict[str, Any] = {}
    for name in dict.fromkeys(k for r in group for k in r.details):
        values = [np.asarray(r.details[name], dtype=float) for r in group if name in r.details]
        if len({v.shape for v in values}) != 1:
            continue
        stacked = np.stack(values)
        out[name] = (stacked.sum(0) if name == "confusion_matrix" else stacked.mean(0)).tolist()
    return out


def _reported(name: str, dataset: str) -> str:
    """The recipe's reported figure, when the recipe's own dataset has the same kind of task."""
    if name not in registry.list_recipes(name):
        return ""
    recipe = registry.get_recipe(name)
    own, here = (registry.get_spec("dataset", d).task for d in (recipe.dataset, dataset))
    return recipe.reported if own is None or here is None or own.kind == here.kind else ""


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
            runs=[r.run_dir for r in group], details=_mean_details(group),
            epochs=float(np.mean([r.epochs for r in group])), reported=_reported(model, dataset),
            budget_minutes=(None if any(r.budget_s is None for r in group)
                            else float(np.mean([r.budget_s for r in group])) / 60.0),
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


def anchor_rows(dataset: str) -> list[Row]:
    """The published anchor rows of ``dataset`` (:data:`ANCHORS`), as leaderboard rows."""
    return [Row(dataset=dataset, model=a.model, seeds=[], metrics={k: (v, 0.0) for k, v in a.metrics.items()},
                params=0, train_seconds=math.nan, train_images_per_s=math.nan, infer_images_per_s=math.nan,
                details=dict(a.details), reported=a.reported, anchor=True)
            for a in ANCHORS.get(dataset, ())]


def _classes(dataset: str) -> tuple[str, ...]:
    task = registry.get_spec("dataset", dataset).task
    return tuple(task.outputs) if task is not None else ()


def _detail_columns(dataset: str, rows: Sequence[Row]) -> list[tuple[str, int, str]]:
    """(metric, index, header) for the per-class recall and per-question RMSE cells."""
    columns = []
    if any("recall_per_class" in r.details for r in rows):
        width = max(len(r.details["recall_per_class"]) for r in rows if "recall_per_class" in r.details)
        names = _classes(dataset)
        columns += [("recall_per_class", i, f"recall {names[i] if i < len(names) else i}") for i in range(width)]
    if any("rmse_per_question" in r.details for r in rows):
        width = max(len(r.details["rmse_per_question"]) for r in rows if "rmse_per_question" in r.details)
        columns += [("rmse_per_question", i, f"Q{i + 1}") for i in range(width)]
    return columns


def _detail(row: Row, metric: str, index: int) -> float:
    values = row.details.get(metric)
    return float(values[index]) if values is not None and index < len(values) and values[index] is not None \
        else math.nan


def write_leaderboard(rows: Sequence[Row], runs: Sequence[RunResult], out: Path, settings: dict) -> dict[str, Path]:
    """leaderboard.md/.csv/.json and plots/ under ``out``; returns the written paths by name.
    Each dataset's published anchor rows (:data:`ANCHORS`) come first in its table."""
    out.mkdir(parents=True, exist_ok=True)
    datasets = list(dict.fromkeys(r.dataset for r in rows))
    anchors = [a for d in datasets for a in anchor_rows(d)]
    metrics = _metric_columns(rows)
    paths = {"json": out / "leaderboard.json", "csv": out / "leaderboard.csv", "md": out / "leaderboard.md"}
    atomic_write_json(paths["json"], {"settings": settings, "rows": [asdict(r) for r in rows],
                                      "anchors": [asdict(r) for r in anchors],
                                      "runs": [asdict(r) for r in runs]})

    details = list(dict.fromkeys(c for d in datasets for c in _detail_columns(d, [r for r in rows if r.dataset == d])))
    columns = (["dataset", "model", "seeds"] + [f"{m}_{s}" for m in metrics for s in ("mean", "std")]
               + [h.replace(" ", "_") for _, _, h in details]
               + ["params", "budget_minutes", "epochs", "train_seconds", "train_images_per_s",
                  "infer_images_per_s", "anchor", "reported"])
    cells = []
    for d in datasets:
        for r in anchor_rows(d) + [r for r in rows if r.dataset == d]:
            values = [f"{v:.6g}" for m in metrics for v in r.metrics.get(m, (np.nan, np.nan))]
            extra = [f"{_detail(r, m, i):.6g}" for m, i, _ in details]
            cells.append([r.dataset, r.model, " ".join(map(str, r.seeds)), *values, *extra, r.params,
                          "" if r.budget_minutes is None else f"{r.budget_minutes:g}", f"{r.epochs:g}",
                          f"{r.train_seconds:.3f}", f"{r.train_images_per_s:.2f}",
                          f"{r.infer_images_per_s:.2f}", int(r.anchor), r.reported])
    write_table(rows_frame(columns, cells), paths["csv"])

    plots = _plot_metric_vs_time(rows, out)
    lines = ["# Leaderboard", "", _settings_line(settings), ""]
    for dataset in datasets:
        part = [r for r in rows if r.dataset == dataset]
        names = _metric_columns(part)
        extra = _detail_columns(dataset, part)
        per_class = [c for c in extra if c[0] == "recall_per_class"]
        lines += [f"## {dataset}", "",
                  "| model | " + " | ".join(names + [h for _, _, h in per_class])
                  + " | params | budget min | epochs | train s | train img/s | infer img/s | source reports | runs |",
                  "|---" * (len(names) + len(per_class) + 9) + "|"]
        for r in anchor_rows(dataset) + part:
            cells = [mean_std(r, n) for n in names] + [_fmt(_detail(r, m, i)) for m, i, _ in per_class]
            links = ", ".join(_run_links(Path(d), out) for d in r.runs)
            name = f"*{r.model}*" if r.anchor else r.model
            lines.append(f"| {name} | " + " | ".join(cells)
                         + f" | {_count(r.params)} | {_fmt(r.budget_minutes or math.nan, 'g')} "
                         f"| {_fmt(r.epochs, '.0f')} | {_fmt(r.train_seconds, '.1f')} "
                         f"| {_fmt(r.train_images_per_s, '.1f')} | {_fmt(r.infer_images_per_s, '.1f')} "
                         f"| {r.reported or '–'} | {links or '–'} |")
        per_question = [c for c in extra if c[0] == "rmse_per_question"]
        if per_question:
            lines += ["", "RMSE per GZ2 question (Q1 smooth/features/star … Q11 number of arms):", "",
                      "| model | " + " | ".join(h for _, _, h in per_question) + " |",
                      "|---" * (len(per_question) + 1) + "|"]
            lines += [f"| {r.model} | " + " | ".join(_fmt(_detail(r, m, i)) for m, i, _ in per_question) + " |"
                      for r in part]
        confusions = [r for r in part if "confusion_matrix" in r.details]
        if confusions:
            classes = _classes(dataset)
            lines += ["", "Confusion matrices on the test split (rows: true class, columns: predicted; "
                      "summed over seeds):", ""]
            for r in confusions:
                lines += [f"**{r.model}**", "", "| true \\ predicted | " + " | ".join(classes) + " |",
                          "|---" * (len(classes) + 1) + "|"]
                lines += [f"| {c} | " + " | ".join(str(int(v)) for v in row) + " |"
                          for c, row in zip(classes, r.details["confusion_matrix"])] + [""]
        lines += [""] + [f"![{p.stem}]({p.relative_to(out).as_posix()})" for p in plots.get(dataset, [])] + [""]
    atomic_write_bytes(paths["md"], "\n".join(lines).encode())
    return paths


def _fmt(value: float, spec: str = ".4f") -> str:
    return "–" if value is None or not math.isfinite(value) else format(value, spec)


def _count(params: int) -> str:
    return f"{params:,}" if params else "–"


def mean_std(row: Row, metric: str) -> str:
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


def previous_runs(out: Path, new: Sequence[RunResult]) -> list[RunResult]:
    """The runs of ``OUT/leaderboard.json`` that ``new`` does not redo (same dataset, model, seed)."""
    path = out / "leaderboard.json"
    if not path.is_file():
        return []
    redone = {(r.dataset, r.model, r.seed) for r in new}
    known = {f.name for f in fields(RunResult)}
    kept = []
    for record in json.loads(path.read_text()).get("runs", []):
        run = RunResult(**{k: v for k, v in record.items() if k in known})
        if (run.dataset, run.model, run.seed) not in redone:
            kept.append(run)
    return kept
