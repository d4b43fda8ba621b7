"""The one family of galaxyzoo exceptions.

``GalaxyzooError`` is the base. ``UserError`` marks a problem the person running galaxyzoo can
fix (a bad option, a missing or broken file, an unknown name): the CLI prints it as one line and
exits with status 2. Anything else that escapes a command is a bug: the CLI prints the traceback
and exits with :data:`INTERNAL_ERROR_EXIT`. Subclasses also derive from the built-in exception
callers would naturally catch (``ValueError``, ``FileNotFoundError``, ``KeyError``), so
``except ValueError`` keeps working.
"""
from __future__ import annotations

__all__ = [
    "CheckpointError",
    "ContractError",
    "DECODE_REASONS",
    "DatasetNotFoundError",
    "DecodeError",
    "GalaxyzooError",
    "INTERNAL_ERROR_EXIT",
    "InputNotFoundError",
    "OutputExistsError",
    "PluginError",
    "USER_ERROR_EXIT",
    "UnknownNameError",
    "UserError",
]

USER_ERROR_EXIT = 2
INTERNAL_ERROR_EXIT = 70  # EX_SOFTWARE in sysexits.h


class GalaxyzooError(Exception):
    """Base of every exception galaxyzoo raises on purpose."""


class UserError(GalaxyzooError, ValueError):
    """A problem with the input, options or files the user gave; the message says what to fix."""


class InputNotFoundError(UserError, FileNotFoundError):
    """A file or folder the user named does not exist."""


class OutputExistsError(UserError, FileExistsError):
    """An output would overwrite something that must not be overwritten."""


class UnknownNameError(UserError, KeyError):
    """No model/dataset/metric/recipe of that name; the message suggests close matches."""

    def __init__(self, kind: str, name: str, suggestions: list[str], broken_plugins: int):
        self.kind, self.name, self.suggestions = kind, name, suggestions
        message = f"unknown {kind} {name!r}"
        if suggestions:
            message += "; did you mean " + " or ".join(repr(s) for s in suggestions) + "?"
        message += f" (see `galaxyzoo list {kind}s`)"
        if broken_plugins:
            message += f"; note: {broken_plugins} plugin(s) failed to load, see `galaxyzoo plugins`"
        super().__init__(message)

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class PluginError(UserError, RuntimeError):
    """A plugin is broken: it failed to load (strict mode) or its builder cannot be imported."""

    def __init__(self, message: str, problems: tuple = ()):
        super().__init__(message)
        self.problems = problems


class ContractError(UserError, AssertionError):
    """A plugin's model, dataset or metric breaks the contract (see galaxyzoo.testing)."""


class CheckpointError(UserError):
    """A checkpoint is missing, incomplete, corrupt or not a galaxyzoo checkpoint."""


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


class DecodeError(UserError):
    """An image that cannot be turned into uint8 H×W×3 RGB; ``reason`` is in DECODE_REASONS."""

    def __init__(self, reason: str, message: str) -> None:
        if reason not in DECODE_REASONS:
            raise ValueError(f"unknown decode failure reason {reason!r}")
        super().__init__(message)
        self.reason = reason

    def __reduce__(self):  # keep ``reason`` when crossing process boundaries
        return (type(self), (self.reason, str(self)))


class DatasetNotFoundError(UserError, FileNotFoundError):
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
