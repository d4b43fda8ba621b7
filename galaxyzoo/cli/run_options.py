"""Arguments shared by the train, evaluate, predict, ingest, benchmark and demo commands, and
the range-checked value types every command's options use: a bad value is one line naming
the option and the accepted range, exit status 2, before any work starts."""
from __future__ import annotations

import argparse
import json
import math
import re
import sys
from typing import Any, Callable

MAX_SIZE = 2048  # model input or crop side, pixels (sources are 424 px)
MAX_BATCH = 1 << 16
MAX_WORKERS = 1024
DEVICE_PATTERN = re.compile(r"auto|cpu|cuda(:\d{1,3})?")


def key_value(text: str) -> tuple[str, Any]:
    """``KEY=VALUE``; VALUE is read as JSON when it parses (numbers, true, lists), else a string."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def int_in(lo: int, hi: int | None = None) -> Callable[[str], int]:
    """An argparse type: an integer in [lo, hi] (no upper bound when ``hi`` is None)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < lo or (hi is not None and value > hi):
            raise argparse.ArgumentTypeError(
                f"{value} is out of range: give an integer {'from %d to %d' % (lo, hi) if hi is not None else '>= %d' % lo}")
        return value
    return parse


def float_in(lo: float, hi: float = math.inf, *, open_low: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number in [lo, hi] (or (lo, hi] when ``open_low``)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(value) or value < lo or value > hi or (open_low and value == lo):
            low = f"> {lo:g}" if open_low else f">= {lo:g}"
            raise argparse.ArgumentTypeError(f"{text} is out of range: give a finite number {low}"
                                             + (f" and <= {hi:g}" if hi != math.inf else ""))
        return value
    return parse


def device_name(text: str) -> str:
    if not DEVICE_PATTERN.fullmatch(text):
        raise argparse.ArgumentTypeError(f"unknown device {text!r}; use auto, cpu or cuda[:N]")
    return text


def one_line_errors(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Make the parser's errors one line on stderr (``galaxyzoo CMD: error: ...``), exit 2."""
    def error(message: str):
        print(f"{parser.prog}: error: {message} (see {parser.prog} --help)", file=sys.stderr)
        sys.exit(2)
    parser.error = error  # type: ignore[method-assign]
    parse = parser.parse_known_args

    def parse_checked(args=None, namespace=None):
        # argparse drops a value of "--" given as --opt=-- and stores [] untyped: refuse it
        # (a list from a type such as --models A,B is never empty).
        namespace, extras = parse(args, namespace)
        for action in parser._actions:
            value = getattr(namespace, action.dest, None)
            items = (value or []) if isinstance(action, argparse._AppendAction) else [value]
            if action.type is not None and action.nargs is None and any(v == [] for v in items):
                error(f"argument {'/'.join(action.option_strings) or action.dest}: expected one value")
        return namespace, extras
    parser.parse_known_args = parse_checked  # type: ignore[method-assign]
    return parser


def add_runtime_args(parser: argparse.ArgumentParser) -> None:
    """Options that change speed, never results."""
    parser.add_argument("--workers", type=int_in(0, MAX_WORKERS), default=None, metavar="N",
                        help="data-loading processes (default: min(cores, 4); 0 = main process)")
    parser.add_argument("--device", type=device_name, default="auto",
                        help="auto (CUDA when available), cpu or cuda[:N]")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
