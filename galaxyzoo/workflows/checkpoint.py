"""Checkpoints: safetensors tensors + JSON, written atomically, never pickled.

A checkpoint is a directory::

    model.safetensors   model weights and buffers
    meta.json           what is needed to rebuild and use the model (name, options, task, ...)
    state.safetensors   (optional) tensors needed to resume training: optimiser, RNG states
    state.json          (optional) the rest of the training state, tensors named by key
    COMPLETE            written last: epoch plus size and SHA-256 of every file above

Every file is written to a temporary name in the same directory, fsynced and renamed; the
``COMPLETE`` marker comes last, so a save killed half-way leaves a directory without a marker,
which :func:`find_latest` ignores. A run directory keeps ``checkpoints/epoch-NNNN/`` folders
and two relative symlinks, ``best`` and ``last``, each replaced atomically.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import safetensors
import safetensors.torch
import torch

from ..atomic import atomic_write_bytes, atomic_write_json
from .. import registry
from ..errors import CheckpointError, UserError
from . import guards

FORMAT = "galaxyzoo-checkpoint"
FORMAT_VERSION = 1
MARKER = "COMPLETE"
MODEL_FILE = "model.safetensors"
META_FILE = "meta.json"
STATE_TENSORS = "state.safetensors"
STATE_JSON = "state.json"
EPOCH_DIRS = "checkpoints"


# --- nested state <-> (tensors, JSON) ------------------------------------------------------

def split_tensors(obj: Any, prefix: str = "") -> tuple[dict[str, torch.Tensor], Any]:
    """Separate tensors/arrays from a nested dict/list structure.

    Returns the tensors by key and a JSON-able skeleton in which each tensor is replaced by
    ``{"__tensor__": key}`` (``__ndarray__`` for NumPy arrays); dicts with non-string keys
    (an optimiser's per-parameter state) become ``{"__items__": [[key, value], ...]}``.
    """
    tensors: dict[str, torch.Tensor] = {}

    def walk(value: Any, key: str) -> Any:
        if isinstance(value, torch.Tensor):
            tensors[key] = value.detach().cpu().contiguous().clone()
            return {"__tensor__": key}
        if isinstance(value, np.ndarray):
            tensors[key] = torch.from_numpy(np.ascontiguousarray(value).copy())
            return {"__ndarray__": key}
        if isinstance(value, Mapping):
            if all(isinstance(k, str) for k in value):
                return {k: walk(v, f"{key}.{k}") for k, v in value.items()}
            return {"__items__": [[k, walk(v, f"{key}.{k}")] for k, v in value.items()]}
        if isinstance(value, (list, tuple)):
            return [walk(v, f"{key}.{i}") for i, v in enumerate(value)]
        if isinstance(value, (np.integer, np.floating)):
            return value.item()
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        raise TypeError(f"cannot store {type(value).__name__} at {key!r} in a checkpoint")

    return tensors, walk(obj, prefix or "state")


def join_tensors(skeleton: Any, tensors: Mapping[str, torch.Tensor]) -> Any:
    """Inverse of :func:`split_tensors` (tuples come back as lists)."""
    if isinstance(skeleton, dict):
        if set(skeleton) == {"__tensor__"}:
            return tensors[skeleton["__tensor__"]]
        if set(skeleton) == {"__ndarray__"}:
            return tensors[skeleton["__ndarray__"]].numpy()
        if set(skeleton) == {"__items__"}:
            return {k: join_tensors(v, tensors) for k, v in skeleton["__items__"]}
        return {k: join_tensors(v, tensors) for k, v in skeleton.items()}
    if isinstance(skeleton, list):
        return [join_tensors(v, tensors) for v in skeleton]
    return skeleton


# --- checkpoint directories ----------------------------------------------------------------

def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_checkpoint(
    directory: Path | str,
    model_state: Mapping[str, torch.Tensor],
    meta: Mapping[str, Any],
    train_state: Any = None,
) -> Path:
    """Write a complete checkpoint into ``directory`` (created), marker last."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MARKER).unlink(missing_ok=True)
    weights = {k: v.detach().cpu().contiguous().clone() for k, v in model_state.items()}
    files = {MODEL_FILE: safetensors.torch.save(weights, metadata={"format": FORMAT})}
    files[META_FILE] = (json.dumps({**meta, "format": FORMAT, "format_version": FORMAT_VERSION},
                                   indent=2, sort_keys=True) + "\n").encode()
    if train_state is not None:
        tensors, skeleton = split_tensors(train_state)
        files[STATE_TENSORS] = safetensors.torch.save(tensors, metadata={"format": FORMAT})
        files[STATE_JSON] = json.dumps(skeleton).encode()
    for name, data in files.items():
        atomic_write_bytes(directory / name, data)
    marker = {
        "epoch": meta.get("epoch"),
        "files": {name: {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
                  for name, data in files.items()},
    }
    atomic_write_json(directory / MARKER, marker)
    return directory


def is_complete(directory: Path) -> bool:
    return (directory / MARKER).is_file()


def resolve(path: Path | str) -> Path:
    """A checkpoint directory, or a run directory (its ``best``, else ``last``, checkpoint)."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint")
    if not path.is_dir():
        raise CheckpointError(f"{path}: a checkpoint is a directory holding {MODEL_FILE} and {META_FILE}")
    if not (path / MODEL_FILE).exists():
        for name in ("best", "last"):
            if (path / name / MODEL_FILE).exists():
                return (path / name).resolve()
        raise CheckpointError(f"{path}: not a checkpoint (no {MODEL_FILE})")
    return path.resolve()


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: unreadable JSON ({exc})") from None


def _load_safetensors(path: Path) -> dict[str, torch.Tensor]:
    try:
        return safetensors.torch.load(path.read_bytes())
    except (safetensors.SafetensorError, OSError) as exc:
        raise CheckpointError(f"{path}: not a valid safetensors file ({exc})") from None


def _regular(path: Path) -> None:
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return  # reported by whoever reads it
    if not stat.S_ISREG(mode):
        raise CheckpointError(f"{path}: not a regular file (a checkpoint holds plain files, not links, FIFOs or devices)")


def _verify(directory: Path, name: str, marker: Mapping[str, Any]) -> None:
    expected = marker.get("files", {}).get(name)
    if expected is None or _sha256(directory / name) != expected.get("sha256"):
        raise CheckpointError(f"{directory / name}: contents differ from the checksum in {MARKER} "
                              "(modified or corrupt)")


def read_checkpoint(path: Path | str, *, with_state: bool = False) -> tuple[dict, dict, Any]:
    """Load ``(meta, model_state, train_state)``; ``train_state`` is None unless asked for."""
    directory = resolve(path)
    if not is_complete(directory):
        raise CheckpointError(f"{directory}: incomplete checkpoint (no {MARKER} marker; "
                              "the save was interrupted)")
    for name in (MARKER, META_FILE, MODEL_FILE, *((STATE_TENSORS, STATE_JSON) if with_state else ())):
        _regular(directory / name)  # a FIFO or device in a checkpoint would block or never end
    marker = _read_json(directory / MARKER)
    if not isinstance(marker, dict) or not isinstance(marker.get("files"), dict):
        raise CheckpointError(f"{directory / MARKER}: not a checkpoint marker")
    meta = _read_json(directory / META_FILE)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{directory / META_FILE}: not galaxyzoo checkpoint metadata")
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{directory}: checkpoint format {meta['format_version']} is newer "
                              "than this galaxyzoo understands; upgrade galaxyzoo")
    model_state = _load_safetensors(directory / MODEL_FILE)  # bounded by the file's size
    _verify(directory, MODEL_FILE, marker)
    _verify(directory, META_FILE, marker)
    train_state = None
    if with_state:
        if not (directory / STATE_JSON).exists():
            raise CheckpointError(f"{directory}: holds no training state to resume from")
        for name in (STATE_TENSORS, STATE_JSON):
            _verify(directory, name, marker)
        tensors = _load_safetensors(directory / STATE_TENSORS)
        train_state = join_tensors(_read_json(directory / STATE_JSON), tensors)
    return meta, model_state, train_state


# --- run directories -----------------------------------------------------------------------

def epoch_dir(run_dir: Path, epoch: int) -> Path:
    return run_dir / EPOCH_DIRS / f"epoch-{epoch:04d}"


def find_latest(run_dir: Path) -> Path | None:
    """The complete checkpoint of the highest epoch; incomplete (orphan) folders are ignored."""
    candidates = sorted((run_dir / EPOCH_DIRS).glob("epoch-[0-9][0-9][0-9][0-9]"))
    complete = [d for d in candidates if is_complete(d)]
    return complete[-1] if complete else None


def prune(run_dir: Path, keep: set[Path]) -> None:
    """Delete epoch folders other than ``keep`` (and any orphans)."""
    keep = {k.resolve() for k in keep}
    for d in (run_dir / EPOCH_DIRS).glob("epoch-*"):
        if d.resolve() not in keep:
            shutil.rmtree(d, ignore_errors=True)


def run_dir_of(checkpoint_dir: Path) -> Path:
    """The run directory a checkpoint belongs to (the checkpoint itself when copied elsewhere)."""
    checkpoint_dir = Path(checkpoint_dir)
    parent = checkpoint_dir.parent
    return parent.parent if parent.name == EPOCH_DIRS else checkpoint_dir


def load_model(path: Path | str, device: torch.device | str = "cpu") -> tuple[torch.nn.Module, dict, Path]:
    """Rebuild a checkpoint's model (through the registry) with its weights, in eval mode.

    Returns ``(model, meta, checkpoint_dir)``.
    """
    directory = resolve(path)
    meta, state, _ = read_checkpoint(directory)
    guards.check_meta(meta, directory, CheckpointError)  # after the checksums, before building
    model = build_model(meta["model"], meta.get("model_options", {}), num_outputs=meta["num_outputs"],
                               in_chans=meta["in_chans"], input_size=meta["input_size"], error=CheckpointError)
    bad = [k for k, v in state.items() if torch.is_floating_point(v) and not bool(torch.isfinite(v).all())]
    if bad:
        raise CheckpointError(f"{directory}: weights hold NaN or infinite values ({', '.join(bad[:3])}); "
                              "the run diverged: use an earlier checkpoint")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{directory}: weights do not fit model {meta['model']!r}: {exc}") from None
    model.to(device).eval()
    return model.to(memory_format=torch.channels_last), meta, directory


def build_model(name: str, options: Mapping, *, num_outputs: int, in_chans: int, input_size: int,
                error: type[UserError] = UserError) -> torch.nn.Module:
    """Build a registered model and run one tiny batch through it (eval mode, no gradients, no
    randomness used), so bad ``--model-opt`` values or an input size the model cannot take
    are one clear error before any work, not a traceback mid-run."""
    what = f"model {name!r} with input size {input_size}" + (f" and options {dict(options)}" if options else "")
    try:
        model = registry.create_model(name, num_outputs=num_outputs, in_chans=in_chans,
                                      input_size=input_size, **options)
    except UserError:
        raise
    except Exception as exc:  # a builder's TypeError/ValueError on a bad option value
        raise error(f"cannot build {what}: {type(exc).__name__}: {exc}") from None
    was_training = model.training
    try:
        with torch.no_grad():
            model.eval()
            model(torch.zeros(2, in_chans, input_size, input_size))
    except Exception as exc:
        raise error(f"{what} fails on a {input_size}-px input: {type(exc).__name__}: {exc}") from None
    finally:
        model.train(was_training)
    return model
