"""Pictures of what the model saw: PNG grids of input cutouts with the ROI box the
preprocessing cropped, each labelled with its id and the predicted class and probability (or
the top vote answers).

- :func:`prediction_gallery` (``predict --gallery``): per predicted class, one row of the most
  confident inputs then one of the most uncertain (lowest probability of the class they were
  given); for vote-fraction catalogs, the most and least decided inputs on the first question.
- :func:`mistakes_gallery` (``evaluate``): the worst mistakes, the wrong predictions made with
  the highest probability, with true and predicted class.
- :func:`grid`: the drawing under both.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from . import plots

BOX_COLOUR = "#39ff14"


def grid(images: Sequence[np.ndarray | None], labels: Sequence[str], path: Path | str, *,
         boxes: Sequence[Sequence[int] | None] | None = None, columns: int = 6,
         row_titles: Sequence[str] | None = None, title: str | None = None,
         label_colours: Sequence[str] | None = None) -> Path:
    """A PNG grid of uint8 H×W×3 ``images`` (None: an empty cell; ``columns`` per row; with ``row_titles`` each
    title starts a new row and ``images`` fill the rows in order, ``columns`` each), a label
    under each, the ROI box (x0, y0, x1, y1, image pixels) drawn on each that has one.
    Written atomically; returns the path."""
    from matplotlib.patches import Rectangle

    n = len(images)
    rows = max(1, -(-n // columns))
    lines = max((str(label).count("\n") + 1 for label in labels), default=1)  # label height
    plt, (fig, axes) = plots.figure(rows, columns, squeeze=False,
                                    figsize=(1.75 * columns, (1.7 + 0.16 * lines) * rows + (0.4 if title else 0)))
    for k, ax in enumerate(axes.ravel()):
        ax.set_xticks([])
        ax.set_yticks([])
        image = images[k] if k < n else None
        if image is None:  # past the end, or a short row
            ax.axis("off")
            continue
        ax.imshow(image, interpolation="nearest")
        box = boxes[k] if boxes is not None else None
        if box is not None:
            x0, y0, x1, y1 = box
            ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False,
                                   edgecolor=BOX_COLOUR, linewidth=1.2))
        ax.set_xlabel(labels[k], fontsize=7.5, color=(label_colours[k] if label_colours else "black"))
    if row_titles:
        for r, text in enumerate(row_titles[:rows]):
            axes[r][0].set_ylabel(text, fontsize=8.5, fontweight="bold")
    fig.tight_layout(pad=0.4, h_pad=0.3, w_pad=0.3)
    if title:  # after the layout, above the grid: bbox_inches="tight" keeps it
        fig.suptitle(title, fontsize=10, y=1.0, va="bottom")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    plots.save_png(plt, fig, path)
    return path


def _roi_boxes(images: np.ndarray, mode: str | None) -> list:
    if mode is None or not len(images):
        return [None] * len(images)
    from .. import ops

    return [b.tolist() for b in np.asarray(ops.find_roi(np.ascontiguousarray(images), mode=mode))]


def _pad_rows(picks: list[list[int]], columns: int) -> list[int | None]:
    """Concatenate rows of indices, each padded with None to ``columns``."""
    return [r[j] if j < len(r) else None for r in picks for j in range(columns)]


def prediction_gallery(catalog, path: Path | str, *, size: int, mode: str | None, per_row: int = 6,
                       title: str | None = None) -> Path:
    """The gallery of a prediction catalog (a pandas DataFrame with the catalog's columns):
    the files are decoded again at ``size`` (the model's source size) and their ROI found with
    ``mode`` (the model's; None: no box)."""
    from ..data.decode import load_batch

    ok = catalog[catalog["status"] == "ok"]
    picks, titles, labels_of = [], [], {}
    if "predicted" in ok.columns:
        prob_cols = [c for c in ok.columns if c.startswith("prob_")]
        for cls in sorted(ok["predicted"].unique(), key=lambda c: prob_cols.index(f"prob_{c}")):
            mine = ok[ok["predicted"] == cls].sort_values(f"prob_{cls}", ascending=False, kind="stable")
            confident = list(mine.index[:per_row])
            uncertain = [i for i in mine.index[::-1][:per_row] if i not in confident][::-1]
            for idx in list(mine.index):
                labels_of[idx] = f"{mine.at[idx, 'id']}\n{cls} {float(mine.at[idx, f'prob_{cls}']):.2f}"
            picks.append(confident)
            titles.append(f"{cls}\nmost confident")
            if uncertain:
                picks.append(uncertain[::-1])
                titles.append(f"{cls}\nleast confident")
    else:
        answers = [c for c in ok.columns if c.startswith("Class")]
        first = [c for c in answers if c.startswith("Class1.")] or answers
        decided = ok[first].astype(float).max(axis=1).sort_values(ascending=False, kind="stable")
        picks = [list(decided.index[:per_row]), list(decided.index[::-1][:per_row])]
        titles = ["most\ndecided", "least\ndecided"]
        for idx in ok.index:
            top = ok.loc[idx, answers].astype(float).nlargest(2)
            labels_of[idx] = f"{ok.at[idx, 'GalaxyID']}\n" + " ".join(f"{a[5:]} {v:.2f}" for a, v in top.items())
    cells = _pad_rows(picks, per_row)
    wanted = [i for i in cells if i is not None]
    images, failures = load_batch([str(catalog.at[i, "path"]) for i in wanted], size)
    boxes = _roi_boxes(images, mode)
    failed = {k for k, _ in failures}
    order = {idx: k for k, idx in enumerate(wanted)}
    blank = np.full((size, size, 3), 128, np.uint8)  # a file that no longer decodes: grey
    return grid([None if i is None else blank if order[i] in failed else images[order[i]] for i in cells],
                ["" if i is None else labels_of[i] for i in cells], path,
                boxes=[None if i is None or order[i] in failed else boxes[order[i]] for i in cells],
                columns=per_row, row_titles=titles, title=title)


def mistakes_gallery(images: np.ndarray, ids: Sequence[str], targets: np.ndarray, probabilities: np.ndarray,
                     classes: Sequence[str], path: Path | str, *, mode: str | None, count: int = 18,
                     columns: int = 6, title: str | None = None) -> Path | None:
    """The ``count`` wrong predictions made with the highest probability, or None when there
    is no mistake. ``images``: uint8 N×H×W×3 of the N samples (or a callable taking indices)."""
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != targets)
    if not len(wrong):
        return None
    worst = wrong[np.argsort(-probabilities[wrong, predicted[wrong]], kind="stable")][:count]
    pixels = images(worst.tolist()) if callable(images) else np.asarray(images)[worst]
    labels = [f"{ids[i]}\ntrue {classes[targets[i]]}\nsaid {classes[predicted[i]]} "
              f"{probabilities[i, predicted[i]]:.2f}" for i in worst]
    return grid(list(pixels), labels, path, boxes=_roi_boxes(np.asarray(pixels), mode), columns=columns,
                title=title or f"worst mistakes: {len(worst)} of {len(wrong)}, most confident first",
                label_colours=["#b00020"] * len(worst))
