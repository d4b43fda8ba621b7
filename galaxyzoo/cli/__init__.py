"""The ``galaxyzoo`` command: a thin layer over the Python API.

Each sub-command lives in its own module exposing ``register(subparsers)``; the module sets
``func`` on its parser, called with the parsed arguments and returning an exit code.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# Order here is the order in `galaxyzoo --help`.
COMMAND_MODULES = (
    "galaxyzoo.cli.list_cmd",
    "galaxyzoo.cli.plugins_cmd",
    "galaxyzoo.cli.train_cmd",
    "galaxyzoo.cli.evaluate_cmd",
    "galaxyzoo.cli.predict_cmd",
    "galaxyzoo.cli.ingest_cmd",
    "galaxyzoo.cli.demo_cmd",
    "galaxyzoo.cli.benchmark_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="galaxyzoo",
        description="Galaxy-morphology model zoo: train, evaluate and run models on galaxy images.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        code = int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `galaxyzoo list models | head`
        sys.stderr.close()
        return 0
    _report_plugin_problems(args.command)
    return code


def _report_plugin_problems(command: str) -> None:
    """A broken plugin never stops a command, but the user hears about it once."""
    from .. import registry
    from .output import print_problems

    if command not in ("list", "plugins") and registry.is_loaded():  # those two print their own
        print_problems(registry.plugins())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
