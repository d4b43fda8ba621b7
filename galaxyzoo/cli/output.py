"""Shared printing for CLI commands: aligned tables, JSON, plugin problems on stderr."""
from __future__ import annotations

import dataclasses
import json
import shutil
import sys
from collections.abc import Mapping
from typing import Any, Sequence, TextIO


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]], file: TextIO | None = None) -> None:
    """Left-aligned columns; on a terminal the last column is cut to the window width."""
    file = file or sys.stdout
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    room = None
    if file.isatty():
        room = shutil.get_terminal_size().columns - sum(w + 2 for w in widths[:-1])
    for row in [list(headers)] + [list(r) for r in rows]:
        last = row[-1]
        if room is not None and len(last) > max(room, 10):
            last = last[: max(room, 10) - 1] + "…"
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths)]
        print("  ".join(cells + [last]).rstrip(), file=file)


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return dict(value)
    if callable(value):
        return f"{getattr(value, '__module__', '?')}:{getattr(value, '__qualname__', repr(value))}"
    return repr(value)


def print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=_jsonable))


def print_problems(records: Sequence[Any]) -> None:
    """One line per plugin problem on stderr, so stdout stays clean for tables and JSON."""
    problems = [p for record in records for p in record.problems]
    for problem in problems:
        print(f"galaxyzoo: plugin problem: {problem}", file=sys.stderr)
    if problems:
        print(
            "galaxyzoo: the rest still works; see `galaxyzoo plugins`, or disable a plugin with "
            "GALAXYZOO_DISABLE_PLUGINS=NAME",
            file=sys.stderr,
        )
