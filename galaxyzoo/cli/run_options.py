"""Arguments and error reporting shared by the train, evaluate, predict and demo commands."""
from __future__ import annotations

import argparse
import functools
import json
import sys
from typing import Any, Callable

from ..registry import PluginError, UnknownNameError

# Problems a user can fix, reported in one line without a traceback (a bad checkpoint raises
# galaxyzoo.checkpoint.CheckpointError, a ValueError). Modules behind the commands are
# imported only when a command runs, so `galaxyzoo --help` and `list` stay free of torch.
USER_ERRORS = (PluginError, UnknownNameError, ValueError, FileNotFoundError, FileExistsError,
               NotADirectoryError)


def key_value(text: str) -> tuple[str, Any]:
    """``KEY=VALUE``; VALUE is read as JSON when it parses (numbers, true, lists), else a string."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def add_runtime_args(parser: argparse.ArgumentParser) -> None:
    """Options that change speed, never results."""
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="data-loading processes (default: min(cores, 4); 0 = main process)")
    parser.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda[:N]")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def reporting_errors(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Run a command; a user error becomes ``galaxyzoo: error: ...`` on stderr and exit status 2."""

    @functools.wraps(command)
    def wrapper(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except USER_ERRORS as exc:
            print(f"galaxyzoo {args.command}: error: {exc}", file=sys.stderr)
            return 2

    return wrapper
