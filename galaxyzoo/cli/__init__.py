"""The ``galaxyzoo`` command: a thin layer over the Python API.

Each sub-command lives in its own module exposing ``register(subparsers)``; the module sets
``func`` on its parser, called with the parsed arguments and returning an exit code.

Errors are reported here, once for every command: a :class:`~galaxyzoo.errors.UserError` or an
operating-system error (a file that cannot be read or written) is one line on stderr and exit
status 2; any other exception is a bug in galaxyzoo or a plugin, printed with its traceback,
exit status 70. Modules behind the commands are imported only when a command runs, so
`galaxyzoo --help` and `list` stay free of torch.
"""
from __future__ import annotations

import argparse
import importlib
import sys
import traceback

from ..errors import INTERNAL_ERROR_EXIT, USER_ERROR_EXIT, UserError

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
    "galaxyzoo.cli.new_plugin_cmd",
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
    from .. import registry

    # Plugin problems are printed once, after the command (_report_plugin_problems), not as
    # Python warnings; the API's setting comes back afterwards (main may run in-process).
    before, registry.warn_on_problems = registry.warn_on_problems, False
    try:
        return _main(argv)
    finally:
        registry.warn_on_problems = before


def _main(argv: list[str] | None) -> int:
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
    except (UserError, OSError) as exc:
        print(f"galaxyzoo {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return USER_ERROR_EXIT
    except Exception:
        traceback.print_exc()
        print(f"galaxyzoo {args.command}: internal error (a bug in galaxyzoo or a plugin; please report "
              "it with the traceback above)", file=sys.stderr)
        return INTERNAL_ERROR_EXIT
    _report_plugin_problems(args.command)
    return code


def _one_line(exc: BaseException) -> str:
    """The error's message; an OSError without one names its file and cause."""
    if isinstance(exc, OSError) and not isinstance(exc, UserError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or exc}"
    return str(exc)


def _report_plugin_problems(command: str) -> None:
    """A broken plugin never stops a command, but the user hears about it once."""
    from .. import registry
    from .output import print_problems

    if command not in ("list", "plugins") and registry.is_loaded():  # those two print their own
        print_problems(registry.plugins())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
