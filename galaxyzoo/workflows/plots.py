"""PNG plots of a run: learning curves and confusion matrices (matplotlib, Agg backend)."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ..atomic import atomic_write_bytes


def figure(*args, **kwargs):
    """(pyplot, (figure, axes)) with the Agg backend: no display needed."""
    import matplotlib

    matplotlib.use("Agg")  # no display; must precede pyplot's import
    import matplotlib.pyplot as plt

    return plt, plt.subplots(*args, **kwargs)


def save_png(plt, fig, path: Path) -> None:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())


def learning_curves(history: Sequence[Mapping[str, Any]], path: Path, monitor: str | None) -> None:
    """Training/validation loss and the monitored metric per epoch."""
    plt, (fig, axes) = figure(1, 2 if monitor else 1, figsize=(10 if monitor else 5, 3.6), squeeze=False)
    epochs = [r["epoch"] for r in history]
    ax = axes[0][0]
    for key, label in (("train_loss", "train"), ("val_loss", "validation")):
        if any(key in r for r in history):
            ax.plot(epochs, [r.get(key, np.nan) for r in history], marker="o", label=label)
    ax.set(xlabel="epoch", ylabel="loss", title="loss")
    ax.legend()
    if monitor:
        ax = axes[0][1]
        ax.plot(epochs, [r.get(f"val_{monitor}", np.nan) for r in history], marker="o", color="C2")
        ax.set(xlabel="epoch", ylabel=monitor, title=f"validation {monitor}")
    for ax in axes[0]:
        ax.grid(alpha=0.3)
    save_png(plt, fig, path)


def confusion_matrix(matrix: Sequence[Sequence[int]], classes: Sequence[str], path: Path,
                     title: str = "confusion matrix") -> None:
    """Row-normalised colours with the raw counts written in each cell."""
    counts = np.asarray(matrix)
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    n = len(classes)
    plt, (fig, ax) = figure(figsize=(1.2 * n + 2.5, 1.1 * n + 2))
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    for i in range(n):
        for j in range(n):
            ax.text(j, i, str(counts[i, j]), ha="center", va="center",
                    color="white" if rates[i, j] > 0.5 else "black")
    ax.set_xticks(range(n), classes, rotation=30, ha="right")
    ax.set_yticks(range(n), classes)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    save_png(plt, fig, path)
