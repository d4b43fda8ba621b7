"""Arguments shared by the train, evaluate, benchmark and demo commands."""
from __future__ import annotations

import argparse
import json
from typing import Any


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
