"""``galaxyzoo list``: what the installed plugins offer, without importing any model code."""
from __future__ import annotations

import argparse
import sys

from .. import registry
from ..plugin_loading import KINDS, Entry, PluginRecord
from ..specs import TASK_KINDS
from .output import print_json, print_problems, print_table

STATUSES = ("ok", "problems", "failed", "disabled")
EXAMPLES = """\
examples:
  galaxyzoo list                   counts per kind and plugin health
  galaxyzoo list models            every model: name, task, source distribution, summary
  galaxyzoo list models 'res*'     models whose name matches a wildcard (quote it)
  galaxyzoo list metrics --json    full specs as JSON

A name listed as DIST:NAME lost a name clash to an earlier plugin; use that qualified form
to reach it. Plugin problems are printed on stderr; see `galaxyzoo plugins`.
"""


def _kind(text: str) -> str:
    """Accept ``models`` and ``model`` alike."""
    kind = text.lower().removesuffix("s")
    if kind not in KINDS:
        raise argparse.ArgumentTypeError(f"unknown kind {text!r}; choose from models, datasets, metrics, recipes")
    return kind


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "list",
        help="list models, datasets, metrics or recipes",
        description="List what the installed galaxyzoo plugins provide.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "kind", nargs="?", type=_kind, metavar="{models,datasets,metrics,recipes}",
        help="what to list; without it, print an overview",
    )
    parser.add_argument("pattern", nargs="?", default="*", help="shell-style wildcard on the name (default: *)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(func=run)


def _tasks(tasks: tuple[str, ...]) -> str:
    return "any" if set(tasks) == set(TASK_KINDS) else ",".join(tasks)


def _dataset_task(spec) -> str:
    if spec.task is None:
        return "from the data"
    return f"{spec.task.kind} ({spec.task.num_outputs})"


def task_label(entry: Entry) -> str:
    """The TASK column: task kinds a model/metric supports; a dataset's (or recipe's dataset's) task."""
    spec = entry.spec
    if entry.kind in ("model", "metric"):
        return _tasks(spec.tasks)
    if entry.kind == "dataset":
        return _dataset_task(spec)
    try:
        return _dataset_task(registry.get_spec("dataset", spec.dataset))
    except registry.UnknownNameError:
        return f"? (no dataset {spec.dataset!r})"


def _entry_json(entry: Entry) -> dict:
    return {
        "name": entry.listed_name,
        "qualified_name": entry.qualified_name,
        "source": entry.dist,
        "entry_point": entry.entry_point,
        "shadowed": entry.shadowed,
        "task": task_label(entry),
        "spec": entry.spec,
    }


def _overview(records: tuple[PluginRecord, ...], as_json: bool) -> None:
    entries = {kind: registry.list_entries(kind) for kind in KINDS}
    health = {status: sum(r.status == status for r in records) for status in STATUSES}
    if as_json:
        print_json({
            "counts": {f"{kind}s": len(found) for kind, found in entries.items()},
            "plugins": health,
            "problems": [p.as_dict() for r in records for p in r.problems],
        })
        return
    rows = []
    for kind, found in entries.items():
        names = ", ".join(e.listed_name for e in found)
        rows.append([f"{kind}s", str(len(found)), names])
    print_table(["KIND", "COUNT", "NAMES"], rows)
    dists = len({r.dist for r in records})
    states = ", ".join(f"{n} {s}" for s, n in health.items() if n)
    print(f"\nplugins: {len(records)} entry points from {dists} distribution(s): {states or 'none'}")
    print("details: `galaxyzoo list KIND [PATTERN]`, plugin status: `galaxyzoo plugins`")


def run(args: argparse.Namespace) -> int:
    try:
        records = registry.plugins()
    except registry.PluginError as exc:
        print(f"galaxyzoo: {exc}", file=sys.stderr)
        return 1
    status = 0
    if args.kind is None:
        _overview(records, args.json)
    else:
        found = registry.list_entries(args.kind, args.pattern)
        if args.json:
            print_json([_entry_json(e) for e in found])
        elif found:
            rows = [[e.listed_name, task_label(e), e.dist, e.spec.summary] for e in found]
            print_table(["NAME", "TASK", "SOURCE", "SUMMARY"], rows)
        if not found and args.pattern == "*":
            print(f"galaxyzoo: no {args.kind}s are registered", file=sys.stderr)
        elif not found:
            print(f"galaxyzoo: no {args.kind}s match {args.pattern!r}", file=sys.stderr)
            status = 1
    print_problems(records)
    return status
