"""What a training run writes besides checkpoints: ``metrics.json`` and ``metrics.csv`` (one
record per epoch), the learning-curve and confusion-matrix plots, and ``dropped_rows.csv``
(the rows its dataset's reader left out, with their reasons)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from ..atomic import atomic_write_json
from ..data.problems import shown
from ..data.problems import InputProblem, count_reasons
from ..data.tables import rows_frame, write_table
from . import plots


def write_history(run_dir: Path, history: list[dict], summary: dict) -> None:
    """``metrics.json`` (summary and every epoch) and ``metrics.csv`` (the scalar columns)."""
    atomic_write_json(run_dir / "metrics.json", {**summary, "epochs": history})
    columns = list(dict.fromkeys(k for record in history for k, v in record.items()
                                 if not isinstance(v, (list, dict))))
    # pandas, cells as Python objects: the bytes csv.DictWriter wrote (tests/test_api.py checks)
    write_table(rows_frame(columns, [[r.get(c) for c in columns] for r in history]), run_dir / "metrics.csv")


def write_run_outputs(run_dir: Path, progress, monitor: str, values: Mapping[str, Any],
                      task, improved: bool, extra: Mapping[str, Any] | None = None) -> None:
    """After an epoch: the metrics tables and learning curves; the confusion matrix when the
    epoch is the best so far. ``progress`` has ``history``, ``best_epoch`` and ``best_value``."""
    write_history(run_dir, progress.history, {"monitor": monitor, "best_epoch": progress.best_epoch,
                                              "best_value": progress.best_value, **(extra or {})})
    plots.learning_curves(progress.history, run_dir / "learning_curves.png", monitor)
    if improved and "confusion_matrix" in values:
        plots.confusion_matrix(values["confusion_matrix"], task.outputs, run_dir / "confusion_matrix.png",
                               title=f"validation, epoch {progress.best_epoch}")


DROPPED_ROWS = "dropped_rows.csv"


def dropped_rows(*datasets) -> list[InputProblem]:
    """Every row the datasets' readers left out (their ``problems`` as opened; a split view is
    looked through to its dataset), each once, in order."""
    found: dict[InputProblem, None] = {}
    for data in datasets:
        while not hasattr(data, "problems") and hasattr(data, "base"):
            data = data.base
        found.update(dict.fromkeys(getattr(data, "problems", None) or ()))
    return list(found)


def report_dropped(run_dir: Path, dropped: list[InputProblem]) -> None:
    """``RUN/dropped_rows.csv`` (item, source, reason, message) and one line on stdout, when
    any row was left out: nothing is dropped silently."""
    if not dropped:
        return
    write_table(rows_frame(["item", "source", "reason", "message"],
                           [[shown(p.item), shown(p.source), p.reason, shown(p.message)] for p in dropped]),
                run_dir / DROPPED_ROWS)
    counts = ", ".join(f"{reason} {n}" for reason, n in count_reasons(dropped).items())
    print(f"dropped {len(dropped)} input rows ({counts}): listed in {run_dir / DROPPED_ROWS}", flush=True)
