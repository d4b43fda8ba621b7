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
    "galaxyzoo.cli.demo_cmd",
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
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
