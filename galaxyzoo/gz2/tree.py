"""The Galaxy Zoo 2 decision tree as used by the Kaggle "Galaxy Challenge" (37 columns).

Each question's answers are stored as *tree-weighted fractions*: the within-question vote
fractions multiplied by the value of the answer that led to the question, so every question's
columns sum to its parent column (Q1 and Q6 sum to 1; Kaggle renormalised Q6).

Every function takes NumPy arrays or torch tensors shaped ``(..., 37)`` and returns the same
kind, using only slicing, arithmetic and concatenation, so the torch path is differentiable
and can sit inside a model's output head.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "COLUMNS",
    "NUM_COLUMNS",
    "PARENTS",
    "QUESTIONS",
    "QUESTION_SIZES",
    "QUESTION_SLICES",
    "Question",
    "answered_mask",
    "max_tree_violation",
    "normalize_per_question",
    "to_fractions",
    "to_probabilities",
    "tree_residuals",
]


@dataclass(frozen=True)
class Question:
    """One question of the tree; ``parent`` is the column index whose value weights it."""

    number: int
    text: str
    answers: tuple[str, ...]
    parent: int | None


QUESTIONS: tuple[Question, ...] = (
    Question(1, "smooth, features/disk, or star/artifact?", ("smooth", "features or disk", "star or artifact"), None),
    Question(2, "edge-on disk?", ("yes", "no"), 1),
    Question(3, "bar through the centre?", ("bar", "no bar"), 4),
    Question(4, "spiral arms?", ("spiral", "no spiral"), 4),
    Question(5, "bulge prominence?", ("none", "just noticeable", "obvious", "dominant"), 4),
    Question(6, "anything odd?", ("yes", "no"), None),
    Question(7, "how rounded?", ("completely round", "in between", "cigar-shaped"), 0),
    Question(8, "odd feature?", ("ring", "lens or arc", "disturbed", "irregular", "other", "merger", "dust lane"), 13),
    Question(9, "edge-on bulge shape?", ("rounded", "boxy", "no bulge"), 3),
    Question(10, "arm winding?", ("tight", "medium", "loose"), 7),
    Question(11, "number of arms?", ("1", "2", "3", "4", "more than 4", "can't tell"), 7),
)

QUESTION_SIZES: tuple[int, ...] = tuple(len(q.answers) for q in QUESTIONS)
_STARTS = np.concatenate([[0], np.cumsum(QUESTION_SIZES)]).tolist()
QUESTION_SLICES: tuple[slice, ...] = tuple(slice(a, b) for a, b in zip(_STARTS[:-1], _STARTS[1:]))
COLUMNS: tuple[str, ...] = tuple(
    f"Class{q.number}.{a}" for q in QUESTIONS for a in range(1, len(q.answers) + 1)
)
NUM_COLUMNS = len(COLUMNS)
# Column index of each question's parent, or None for the root questions Q1 and Q6.
PARENTS: tuple[int | None, ...] = tuple(q.parent for q in QUESTIONS)
_QUESTION_OF_COLUMN: tuple[int, ...] = tuple(i for i, n in enumerate(QUESTION_SIZES) for _ in range(n))


def _is_tensor(x: Any) -> bool:
    torch = sys.modules.get("torch")  # a tensor can only exist once torch is imported
    return torch is not None and isinstance(x, torch.Tensor)


def _cat(blocks: list, like: Any):
    if _is_tensor(like):
        return sys.modules["torch"].cat(blocks, dim=-1)
    return np.concatenate(blocks, axis=-1)


def _where(cond: Any, a: Any, b: Any):
    if _is_tensor(cond):
        return sys.modules["torch"].where(cond, a, b)
    return np.where(cond, a, b)


def _ones_like(x: Any):
    return sys.modules["torch"].ones_like(x) if _is_tensor(x) else np.ones_like(x)


def _check_columns(x: Any) -> None:
    if x.shape[-1] != NUM_COLUMNS:
        raise ValueError(f"expected {NUM_COLUMNS} GZ2 columns in the last axis, got shape {tuple(x.shape)}")


def _parent_values(x: Any, parent: int | None):
    """The parent column of a question as shape (..., 1); ones for a root question."""
    if parent is None:
        return _ones_like(x[..., :1])
    return x[..., parent : parent + 1]


def normalize_per_question(values: Any, eps: float = 1e-12):
    """Divide each question's (non-negative) values by their sum: per-question probabilities.

    Apply ReLU or exp first for raw network outputs (Dieleman et al. used ReLU + this).
    """
    _check_columns(values)
    blocks = [values[..., s] / (values[..., s].sum(-1, keepdims=True) + eps) for s in QUESTION_SLICES]
    return _cat(blocks, values)


def to_fractions(probabilities: Any):
    """Per-question probabilities (each question sums to 1) -> the 37 tree-weighted fractions."""
    _check_columns(probabilities)
    blocks: list = []
    for s, parent in zip(QUESTION_SLICES, PARENTS):
        if parent is None:
            blocks.append(probabilities[..., s])
            continue
        # Parents always precede their children, so the parent's fraction is already computed.
        q = _QUESTION_OF_COLUMN[parent]
        offset = parent - QUESTION_SLICES[q].start
        blocks.append(probabilities[..., s] * blocks[q][..., offset : offset + 1])
    return _cat(blocks, probabilities)


def answered_mask(fractions: Any):
    """Boolean (..., 37): True where the question was reached (its parent column is > 0)."""
    _check_columns(fractions)
    blocks = [
        (_parent_values(fractions, parent) > 0) & (_ones_like(fractions[..., s]) > 0)
        for s, parent in zip(QUESTION_SLICES, PARENTS)
    ]
    return _cat(blocks, fractions)


def to_probabilities(fractions: Any):
    """Tree-weighted fractions -> per-question probabilities (inverse of :func:`to_fractions`).

    A question whose parent column is 0 was never asked; its probabilities are 0 there (see
    :func:`answered_mask`). The division is guarded so torch gradients stay finite.
    """
    _check_columns(fractions)
    blocks = []
    for s, parent in zip(QUESTION_SLICES, PARENTS):
        parent_value = _parent_values(fractions, parent)
        reached = parent_value > 0
        safe = _where(reached, parent_value, _ones_like(parent_value))
        blocks.append(_where(reached, fractions[..., s] / safe, 0.0))
    return _cat(blocks, fractions)


def tree_residuals(fractions: Any):
    """(..., 11): each question's column sum minus its parent column (0 when consistent)."""
    _check_columns(fractions)
    blocks = [
        fractions[..., s].sum(-1, keepdims=True) - _parent_values(fractions, parent)
        for s, parent in zip(QUESTION_SLICES, PARENTS)
    ]
    return _cat(blocks, fractions)


def max_tree_violation(fractions: Any) -> float:
    """Largest absolute sum-constraint violation over all rows and questions."""
    residuals = abs(tree_residuals(fractions)).reshape(-1)
    return float(residuals.max()) if len(residuals) else 0.0
