"""Built-in metric functions, NumPy only: ``fn(y_true, y_pred, task)``.

Classification: ``y_true`` integer labels (N), ``y_pred`` class probabilities (N×C).
Vote fractions: ``y_true`` and ``y_pred`` both N×K.
"""
from __future__ import annotations

import numpy as np

from galaxyzoo.gz2.tree import NUM_COLUMNS, QUESTION_SLICES
from galaxyzoo.specs import Task


def _labels_and_probs(y_true, y_pred, task: Task) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(y_true).astype(np.int64, copy=False).reshape(-1)
    probs = np.asarray(y_pred, dtype=np.float64)
    if probs.ndim != 2 or probs.shape != (labels.size, task.num_outputs):
        raise ValueError(
            f"expected y_pred of shape ({labels.size}, {task.num_outputs}), got {probs.shape}"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= task.num_outputs):
        raise ValueError(f"labels must lie in [0, {task.num_outputs})")
    return labels, probs


def _fractions(y_true, y_pred, task: Task) -> tuple[np.ndarray, np.ndarray]:
    truth = np.asarray(y_true, dtype=np.float64)
    pred = np.asarray(y_pred, dtype=np.float64)
    if truth.shape != pred.shape or truth.ndim != 2 or truth.shape[1] != task.num_outputs:
        raise ValueError(f"expected two N×{task.num_outputs} arrays, got {truth.shape} and {pred.shape}")
    return truth, pred


def confusion_matrix(y_true, y_pred, task: Task) -> np.ndarray:
    """Counts C×C: row = true class, column = predicted (arg-max) class."""
    labels, probs = _labels_and_probs(y_true, y_pred, task)
    c = task.num_outputs
    flat = labels * c + probs.argmax(axis=1)
    return np.bincount(flat, minlength=c * c).reshape(c, c)


def accuracy(y_true, y_pred, task: Task) -> float:
    labels, probs = _labels_and_probs(y_true, y_pred, task)
    return float(np.mean(probs.argmax(axis=1) == labels)) if labels.size else float("nan")


def balanced_accuracy(y_true, y_pred, task: Task) -> float:
    """Mean per-class recall over the classes present in ``y_true`` (as scikit-learn)."""
    cm = confusion_matrix(y_true, y_pred, task)
    support = cm.sum(axis=1)
    present = support > 0
    if not present.any():
        return float("nan")
    return float(np.mean(np.diag(cm)[present] / support[present]))


def _average_ranks(scores: np.ndarray) -> np.ndarray:
    """1-based ranks; tied scores share the mean of the ranks they span."""
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    ends = np.r_[starts[1:], scores.size]
    mean_rank = (starts + ends + 1) / 2.0  # mean of ranks starts+1 … ends
    ranks = np.empty(scores.size)
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def roc_auc_ovr(y_true, y_pred, task: Task) -> float:
    """One-vs-rest ROC AUC averaged over classes (macro), via the Mann–Whitney U statistic.

    A class with no positive or no negative sample has no AUC and is left out of the mean.
    """
    labels, probs = _labels_and_probs(y_true, y_pred, task)
    aucs = []
    for c in range(task.num_outputs):
        positive = labels == c
        n_pos = int(positive.sum())
        n_neg = labels.size - n_pos
        if n_pos == 0 or n_neg == 0:
            continue
        rank_sum = _average_ranks(probs[:, c])[positive].sum()
        aucs.append((rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))
    return float(np.mean(aucs)) if aucs else float("nan")


def rmse(y_true, y_pred, task: Task) -> float:
    """Root mean squared error over every vote-fraction column (the Kaggle GZ2 score)."""
    truth, pred = _fractions(y_true, y_pred, task)
    return float(np.sqrt(np.mean((truth - pred) ** 2))) if truth.size else float("nan")


def rmse_per_question(y_true, y_pred, task: Task) -> np.ndarray:
    """RMSE of each GZ2 decision-tree question's columns (11 values, Q1 … Q11)."""
    truth, pred = _fractions(y_true, y_pred, task)
    if truth.shape[1] != NUM_COLUMNS:
        raise ValueError(f"rmse_per_question needs the {NUM_COLUMNS} GZ2 columns, got {truth.shape[1]}")
    squared = (truth - pred) ** 2
    return np.array([np.sqrt(squared[:, s].mean()) for s in QUESTION_SLICES])
