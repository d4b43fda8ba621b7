"""What can go wrong with real inputs, as values a run can count instead of crashing on.

Every bad input is described by a short, stable ``reason`` code (so a run's summary can
count them) plus a human message naming the file and the cause.
"""
from __future__ import annotations

from dataclasses import dataclass

# Reasons an image cannot be decoded (DecodeError.reason).
DECODE_REASONS: tuple[str, ...] = (
    "missing",  # no such file
    "unreadable",  # exists but cannot be read (permissions, a directory, I/O error)
    "empty",  # zero bytes
    "not_an_image",  # content is neither JPEG nor PNG, whatever the file name says
    "too_large",  # header dimensions or file size over the limit (decompression bomb)
    "truncated",  # data ends before the image does
    "corrupt",  # malformed image data
    "unsupported",  # a valid image in a pixel format galaxyzoo does not convert
)
# Reasons a catalog row cannot be used for training (InputProblem.reason, besides the above).
ROW_REASONS: tuple[str, ...] = ("missing_id", "duplicate_id", "missing_label", "bad_label", "missing_split")


class DecodeError(ValueError):
    """An image that cannot be turned into uint8 H×W×3 RGB; ``reason`` is in DECODE_REASONS."""

    def __init__(self, reason: str, message: str) -> None:
        if reason not in DECODE_REASONS:
            raise ValueError(f"unknown decode failure reason {reason!r}")
        super().__init__(message)
        self.reason = reason

    def __reduce__(self):  # keep ``reason`` when crossing process boundaries
        return (type(self), (self.reason, str(self)))


class DatasetNotFoundError(FileNotFoundError):
    """A dataset's files are not where the reader looks; the message gives the expected layout."""

    def __init__(self, name: str, root: str, missing: list[str], layout: str) -> None:
        listed = "\n".join(f"  - {m}" for m in missing)
        super().__init__(
            f"dataset {name!r}: expected files are missing under {root}:\n{listed}\n"
            f"Expected layout (nothing is downloaded; put the files there or pass root=...):\n{layout}"
        )
        self.dataset = name
        self.root = root
        self.missing = list(missing)


@dataclass(frozen=True)
class InputProblem:
    """One bad input found while building or reading a dataset: which item, where, why."""

    item: str  # the sample id (or "row N" when the row has no usable id)
    source: str  # the file, or "catalog.csv:LINE" for a catalog row
    reason: str  # one of DECODE_REASONS or ROW_REASONS
    message: str

    def __str__(self) -> str:
        return f"{self.item} ({self.source}): {self.reason}: {self.message}"


def count_reasons(problems: list[InputProblem]) -> dict[str, int]:
    """How many problems of each reason, for a run's summary."""
    counts: dict[str, int] = {}
    for p in problems:
        counts[p.reason] = counts.get(p.reason, 0) + 1
    return dict(sorted(counts.items()))
