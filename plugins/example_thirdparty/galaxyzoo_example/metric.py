"""Macro F1: per-class F1 from the arg-max prediction, averaged over classes that occur."""
from __future__ import annotations

import numpy as np


def macro_f1(y_true, y_pred, task) -> float:
    labels = np.asarray(y_true).astype(np.int64).reshape(-1)
    predicted = np.asarray(y_pred).argmax(axis=1)
    c = task.num_outputs
    counts = np.bincount(labels * c + predicted, minlength=c * c).reshape(c, c)
    tp = np.diag(counts).astype(np.float64)
    true_n, pred_n = counts.sum(axis=1), counts.sum(axis=0)
    present = (true_n + pred_n) > 0
    f1 = 2 * tp[present] / (true_n[present] + pred_n[present])
    return float(f1.mean()) if present.any() else float("nan")
