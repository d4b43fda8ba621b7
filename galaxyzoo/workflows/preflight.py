"""Contract checks run by train, evaluate and predict before any real work.

The full check kit (:mod:`galaxyzoo.testing`) is for a plugin's own tests; this is its cheap
subset, run on the real model and two real samples: the dataset protocol, the targets against
the task, ``read_images`` returning uint8 N×H×W×3, and the model mapping the preprocessed batch
to finite float N×outputs. A broken plugin then fails in a second, before a run folder exists,
with a :class:`~galaxyzoo.errors.ContractError` naming the plugin and its distribution, not
an epoch later with a broadcasting error from deep inside the loop.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import torch

from .. import registry
from ..data.base import GalaxyDataset
from ..data.preprocessing import Preprocessing
from ..errors import ContractError, UserError
from ..specs import Task


def origin(kind: str, name: str) -> str:
    """``model 'x' (plugin dist 1.0 [entry point])``: who to blame, for error messages."""
    try:
        entry = registry.find_entry(kind, name)
    except UserError:
        return f"{kind} {name!r}"
    version = next((r.version for r in registry.plugins()
                    if r.dist == entry.dist and r.entry_point == entry.entry_point), "")
    dist = f"{entry.dist} {version}".strip()
    return f"{kind} {name!r} (plugin {entry.entry_point!r} from distribution {dist})"


def _fail(kind: str, name: str, message: str, check: str) -> ContractError:
    return ContractError(f"{origin(kind, name)} breaks the galaxyzoo contract: {message} "
                         f"(galaxyzoo.testing.{check} reports all such problems; see docs/plugins.md)")


def check_dataset(ds: Any, name: str, split: str, task: Task | None = None) -> np.ndarray:
    """The protocol, targets and two images of ``ds``; returns those uint8 images (2×H×W×3)."""
    def require(ok: Any, message: str) -> None:
        if not ok:
            raise _fail("dataset", name, f"split {split!r}: {message}", "check_dataset")

    missing = [a for a in ("task", "ids", "targets", "__len__", "read_images") if not hasattr(ds, a)]
    require(not missing and isinstance(ds, GalaxyDataset),
            f"{type(ds).__name__} lacks the GalaxyDataset attributes {missing or ''}")
    require(isinstance(ds.task, Task), f"task is a {type(ds.task).__name__}, not a galaxyzoo.Task")
    require(task is None or ds.task == task, f"task {ds.task} differs from the training split's {task}")
    n = len(ds)
    require(n > 0, "is empty")
    require(len(ds.ids) == n, f"{len(ds.ids)} ids for {n} samples")
    if split != "unlabeled":
        from ..testing import _check_targets

        _check_targets(np.asarray(ds.targets), ds.task, n, require)
    try:
        images = ds.read_images([0, n - 1])
    except Exception as exc:
        raise _fail("dataset", name, f"split {split!r}: read_images([0, {n - 1}]) raised "
                    f"{type(exc).__name__}: {exc}", "check_dataset") from exc
    require(isinstance(images, np.ndarray), f"read_images returned {type(images).__name__}, not a NumPy array")
    require(images.dtype == np.uint8, f"read_images returned {images.dtype} pixels; expected uint8 (0-255)")
    chw = images.ndim == 4 and images.shape[1] in (1, 3) and images.shape[3] not in (1, 3)
    require(not chw, f"read_images returned shape {images.shape}, channels first; expected N×H×W×3")
    require(images.ndim == 4 and images.shape[0] == 2 and images.shape[3] == 3,
            f"read_images returned shape {images.shape} for 2 indices; expected 2×H×W×3")
    return images


def check_model(net: Any, name: str, x: torch.Tensor, num_outputs: int) -> None:
    """``net`` maps the batch ``x`` to finite float N×num_outputs (eval mode, no gradient)."""
    def fail(message: str) -> ContractError:
        return _fail("model", name, message, "check_model")

    if not isinstance(net, torch.nn.Module):
        raise fail(f"its builder returned {type(net).__name__}, not a torch.nn.Module")
    shape = "×".join(map(str, x.shape))
    try:
        device = next(net.parameters()).device
    except StopIteration:
        raise fail("it has no parameters") from None
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            out = net(x.to(device))
    except Exception as exc:
        raise fail(f"forward on a float32 {shape} batch raised {type(exc).__name__}: {exc}") from exc
    finally:
        net.train(was_training)
    if not isinstance(out, torch.Tensor):
        raise fail(f"forward returned {type(out).__name__}, not a tensor")
    expected = (x.shape[0], num_outputs)
    if tuple(out.shape) != expected:
        raise fail(f"output shape {tuple(out.shape)} for a {shape} batch; expected {expected} "
                   f"(one raw output per class or column of the task)")
    if not out.is_floating_point() or not torch.isfinite(out).all():
        raise fail(f"output must be finite floats; got {out.dtype}"
                   + ("" if not out.is_floating_point() else " with NaN or inf"))


def check_training(config: Any, net: Any, train_set: Any, val_set: Any, prep: Preprocessing) -> None:
    """Before a run folder exists: both splits, then the model on two preprocessed train samples."""
    task = train_set.task
    images = check_dataset(train_set, config.dataset, "train")
    if val_set is not None and val_set is not train_set:
        check_dataset(val_set, config.dataset, "val", task)
    check_model(net, config.model, prep.apply(images), task.num_outputs)


def check_evaluation(members: Sequence[tuple[Any, dict, Any]], data: Any, dataset: str, split: str,
                     metrics: Sequence[str] = ()) -> tuple[str, ...]:
    """The dataset, then each checkpointed model on two of its samples, preprocessed as trained.

    Returns the metrics to compute: ``metrics`` when given, else those the run trained with
    (its ``config.json``, i.e. the recipe's unless overridden), else the recipe's; empty means
    the task's standard set.
    """
    images = check_dataset(data, dataset, split)
    for model, meta, _ in members:
        prep = Preprocessing.from_dict(meta["preprocessing"])
        check_model(model, meta["model"], prep.apply(images), len(meta["task"]["outputs"]))
    return tuple(metrics) or default_metrics(members[0][1], members[0][2])


def default_metrics(meta: dict, checkpoint_dir: Any) -> tuple[str, ...]:
    """The metrics a checkpoint's run was trained with, else its recipe's (empty: unknown)."""
    from .checkpoint import run_dir_of

    if checkpoint_dir is not None:
        config = Path(run_dir_of(Path(checkpoint_dir))) / "config.json"
        try:
            trained = json.loads(config.read_text()).get("metrics") or ()
        except (OSError, ValueError, AttributeError):
            trained = ()
        if trained:
            return tuple(trained)
    if meta.get("recipe"):
        try:
            return tuple(registry.get_recipe(meta["recipe"]).metrics)
        except UserError:  # the recipe's plugin is gone; evaluate with the task's defaults
            return ()
    return ()


def check_prediction(members: Iterable[tuple[Any, dict, Any]]) -> None:
    """Each checkpointed model on two blank-sky images of its training source size."""
    rng = np.random.default_rng(0)
    for model, meta, _ in members:
        size = int(meta.get("source_size") or 424)
        images = rng.integers(0, 40, (2, size, size, 3), dtype=np.uint8)
        prep = Preprocessing.from_dict(meta["preprocessing"])
        check_model(model, meta["model"], prep.apply(images), len(meta["task"]["outputs"]))
