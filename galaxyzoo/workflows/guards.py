"""Guards the jobs share against hostile inputs: a model that rejects its options or size,
non-finite numbers (a diverged run), and two jobs writing one output (a lock file)."""
from __future__ import annotations

import fcntl
import math
import os
import shutil
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Callable, Iterator, Mapping

import torch

from ..errors import UserError

LOCK_NAME = ".galaxyzoo.lock"


class DivergedError(UserError):
    """Training produced a non-finite loss, metric or weight."""


def non_finite(tensors: Mapping[str, torch.Tensor]) -> list[str]:
    """Names of floating-point tensors holding a NaN or infinity."""
    return [k for k, v in tensors.items()
            if torch.is_floating_point(v) and not bool(torch.isfinite(v).all())]


def is_finite(value) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return True  # not a scalar (a confusion matrix): nothing to check


def _holder(path: Path) -> str:
    try:
        return path.read_text().strip() or "unknown"
    except OSError:
        return "unknown"


@contextmanager
def output_lock(folder: Path | str, what: str, name: str = LOCK_NAME) -> Iterator[None]:
    """Hold ``folder/.galaxyzoo.lock`` (an fcntl lock, released by the kernel when the process
    ends, so a killed job never leaves a stale lock) for the job's duration. A second job on the
    same folder is refused at once with a message naming the holder's PID."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(f"{folder} is in use by another galaxyzoo job (process {_holder(path)}, "
                            f"{what}); wait for it to finish or choose another output") from None
        before = os.fstat(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        if before.st_size:  # an old lock file: keep its times, so a rerun that writes nothing changes nothing
            os.utime(fd, ns=(before.st_atime_ns, before.st_mtime_ns))
        yield
    finally:
        os.close(fd)  # closing releases the lock


@contextmanager
def fresh_output(folder: Path | str, what: str, started: Callable[[], bool]) -> Iterator[None]:
    """:func:`output_lock` for a job starting a new output: if the block fails (an exception)
    before ``started()`` is true, what this call created is removed, under the lock: the folder
    itself when it did not exist before, else the entries it added. No half-started output is
    left behind to block the next attempt."""
    folder = Path(folder)
    created = [f for f in (folder, *folder.absolute().parents) if not f.exists()]  # it and new parents
    had_lock = (folder / LOCK_NAME).exists()
    with output_lock(folder, what):
        before = set(os.listdir(folder))
        try:
            yield
        except Exception:
            if not started():
                if created:
                    shutil.rmtree(folder, ignore_errors=True)
                    for parent in created[1:]:
                        with suppress(OSError):
                            parent.rmdir()  # only if empty: another job may have written beside it
                else:
                    for name in set(os.listdir(folder)) - before | (set() if had_lock else {LOCK_NAME}):
                        entry = folder / name
                        shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink(missing_ok=True)
            raise


def check_resume(saved: Mapping, current: Mapping, where: Path | str) -> None:
    """Resuming continues the run exactly: every setting the checkpoint was trained with must be
    unchanged (``config.json`` edited since, or another galaxyzoo's defaults, are refused)."""
    if not isinstance(saved, Mapping):
        return  # a checkpoint written before settings were recorded in it
    changed = sorted(k for k in set(saved) | set(current) if _plain(saved.get(k)) != _plain(current.get(k)))
    if changed:
        shown = ", ".join(f"{k}: {saved.get(k)!r} -> {current.get(k)!r}" for k in changed[:4])
        raise UserError(f"{where}: the run's settings changed since its last checkpoint ({shown}); "
                        "resuming would not continue the same run: restore config.json or start a new run")


def _plain(value):
    return [_plain(v) for v in value] if isinstance(value, (list, tuple)) else value


META_SCHEMA = {"model": str, "num_outputs": int, "in_chans": int, "input_size": int, "model_options": dict,
               "task": dict, "preprocessing": dict, "source_size": int}
OPTIONAL_META = ("model_options", "task", "preprocessing", "source_size")
META_BOUNDS = {"num_outputs": (1, 100_000), "in_chans": (1, 64), "input_size": (1, 8192), "source_size": (1, 65536)}


def check_meta(meta: Mapping, where: Path | str, error: type[UserError] = UserError) -> None:
    """A checkpoint's metadata, checked (after its checksum) before anything is allocated from it."""
    for key, kind in META_SCHEMA.items():
        value = meta.get(key)
        if key in OPTIONAL_META and key not in meta and not (key == "preprocessing" and "task" in meta):
            continue  # (a model saved for inference, with a task, must say how it preprocesses)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise error(f"{where}: metadata field {key!r} must be {kind.__name__}, got {value!r:.60}")
        lo, hi = META_BOUNDS.get(key, (None, None))
        if lo is not None and not lo <= value <= hi:
            raise error(f"{where}: metadata field {key!r} = {value} is outside [{lo}, {hi}]")
    task = meta.get("task", {"kind": "", "outputs": [""] * meta["num_outputs"]})
    outputs = task.get("outputs")
    if not isinstance(task.get("kind"), str) or not isinstance(outputs, list) or \
            len(outputs) != meta["num_outputs"] or not all(isinstance(o, str) for o in outputs):
        raise error(f"{where}: metadata field 'task' must hold a kind and {meta['num_outputs']} output names")


def check_loss(loss_sum: float, desc: str, step: int) -> None:
    if not math.isfinite(loss_sum):
        raise DivergedError(
            f"training diverged ({desc}, by step {step + 1}): the loss is {loss_sum}; no checkpoint "
            "of it was saved (best/last keep the last finite epoch); try a lower --lr")

