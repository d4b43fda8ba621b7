"""Per-class classification metrics: macro F1 and recall per class (NumPy only)."""
from __future__ import annotations

import numpy as np

from galaxyzoo.specs import Task

from .functions import confusion_matrix


def recall_per_class(y_true, y_pred, task: Task) -> np.ndarray:
    """Recall of each class in ``task.outputs`` order (NaN for a class absent from ``y_true``)."""
    cm = confusion_matrix(y_true, y_pred, task).astype(np.float64)
    support = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, np.diag(cm) / support, np.nan)


def macro_f1(y_true, y_pred, task: Task) -> float:
    """Unweighted mean over the classes present in ``y_true`` or predicted of the F1 score
    2·TP / (2·TP + FP + FN), as scikit-learn's ``f1_score(average="macro")`` (a class with no
    true and no predicted sample is left out)."""
    cm = confusion_matrix(y_true, y_pred, task).astype(np.float64)
    tp = np.diag(cm)
    denominator = cm.sum(axis=0) + cm.sum(axis=1)  # 2·TP + FP + FN
    present = denominator > 0
    if not present.any():
        return float("nan")
    return float(np.mean(2 * tp[present] / denominator[present]))
