"""What a training run writes besides checkpoints: ``metrics.json`` and ``metrics.csv`` (one
record per epoch) and the learning-curve and confusion-matrix plots."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from ..atomic import atomic_write_json
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
                      task, improved: bool) -> None:
    """After an epoch: the metrics tables and learning curves; the confusion matrix when the
    epoch is the best so far. ``progress`` has ``history``, ``best_epoch`` and ``best_value``."""
    write_history(run_dir, progress.history, {"monitor": monitor, "best_epoch": progress.best_epoch,
                                              "best_value": progress.best_value})
    plots.learning_curves(progress.history, run_dir / "learning_curves.png", monitor)
    if improved and "confusion_matrix" in values:
        plots.confusion_matrix(values["confusion_matrix"], task.outputs, run_dir / "confusion_matrix.png",
                               title=f"validation, epoch {progress.best_epoch}")
