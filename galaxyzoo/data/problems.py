"""What can go wrong with real inputs, as values a run can count instead of crashing on.

Every bad input is described by a short, stable ``reason`` code (so a run's summary can
count them) plus a human message naming the file and the cause. The exceptions themselves
(:class:`galaxyzoo.errors.DecodeError`, ...) live in :mod:`galaxyzoo.errors`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from ..errors import DECODE_REASONS

__all__ = [
    "InputProblem",
    "REASONS",
    "ROW_REASONS",
    "count_reasons",
]

# Reasons a catalog row cannot be used for training (InputProblem.reason, besides DECODE_REASONS).
ROW_REASONS: tuple[str, ...] = ("missing_id", "duplicate_id", "missing_label", "bad_label", "missing_split")
REASONS: tuple[str, ...] = DECODE_REASONS + ROW_REASONS


@dataclass(frozen=True)
class InputProblem:
    """One bad input found while building or reading a dataset: which item, where, why."""

    item: str  # the sample id (or "row N" when the row has no usable id)
    source: str  # the file, or "catalog.csv:LINE" for a catalog row
    reason: str  # one of REASONS
    message: str

    def __str__(self) -> str:  # printable whatever bytes the file names hold
        return f"{shown(self.item)} ({shown(self.source)}): {self.reason}: {shown(self.message)}"


def count_reasons(problems: list[InputProblem]) -> dict[str, int]:
    """How many problems of each reason, for a run's summary."""
    counts: dict[str, int] = {}
    for p in problems:
        counts[p.reason] = counts.get(p.reason, 0) + 1
    return dict(sorted(counts.items()))


def shown(text: str) -> str:
    """A name as written to catalogs and manifests: unchanged when it is valid UTF-8; bytes that
    are not are written as ``\\xNN`` (``os.fsencode(name).decode("utf-8", "backslashreplace")``)."""
    return os.fsencode(text).decode("utf-8", "backslashreplace") if isinstance(text, str) else str(text)
