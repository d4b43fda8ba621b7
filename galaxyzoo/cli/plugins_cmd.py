"""``galaxyzoo plugins``: every entry point in the ``galaxyzoo`` group and how it loaded."""
from __future__ import annotations

import argparse
import sys

from .. import registry
from ..plugin_loading import DISABLE_ENV, TRACE_ENV, PluginRecord
from ..registry import STRICT_ENV
from .output import print_json, print_problems, print_table

EPILOG = f"""\
STATUS is one of: ok; problems (loaded, but something it offered was refused); failed
(nothing loaded); disabled. Each problem is printed on stderr with the distribution, entry
point and error.

environment:
  {DISABLE_ENV}=NAME,...  skip plugins by entry-point or distribution name
                                     (the item `all`: every plugin outside galaxyzoo itself)
  {STRICT_ENV}=1          make any plugin problem an error
  {TRACE_ENV}=1           log plugin loading on stderr, with tracebacks
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "plugins",
        help="show installed plugins and their status",
        description="Show every plugin registered under the `galaxyzoo` entry-point group:\n"
        "distribution, version, entry point, what it provides and whether it loaded.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(func=run)


def provides(record: PluginRecord) -> str:
    """e.g. ``3 models (a, b, c); 1 metric (d)``."""
    parts = []
    for kind, names in record.contributions.items():
        noun = kind if len(names) == 1 else f"{kind}s"
        parts.append(f"{len(names)} {noun} ({', '.join(names)})")
    return "; ".join(parts) or "-"


def run(args: argparse.Namespace) -> int:
    try:
        records = registry.plugins()
    except registry.PluginError as exc:
        print(f"galaxyzoo: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print_json([r.as_dict() for r in records])
    else:
        rows = [[r.dist, r.version, r.entry_point, r.status, provides(r)] for r in records]
        print_table(["DISTRIBUTION", "VERSION", "ENTRY POINT", "STATUS", "PROVIDES"], rows)
    print_problems(records)
    return 0
