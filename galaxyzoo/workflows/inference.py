"""What training, evaluation and prediction share: the task loss, output activations,
test-time averaging, inference over a loader, ensembles and metric computation."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence, Union

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import registry
from ..data.pipeline import BatchLoader
from ..errors import UserError
from ..gz2.heads import outputs_fractions
from ..specs import Task

DEFAULT_METRICS = {
    "classification": ("accuracy", "balanced_accuracy", "roc_auc_ovr", "confusion_matrix"),
    "vote_fractions": ("rmse", "rmse_per_question"),
}


def to_probabilities(outputs: torch.Tensor, task: Task, fractions: bool = False) -> torch.Tensor:
    """Raw model outputs → class probabilities (softmax) or vote fractions (sigmoid).

    ``fractions``: the outputs already are vote fractions (a tree head, :mod:`galaxyzoo.heads`).
    """
    outputs = outputs.float()
    if task.kind == "classification":
        return outputs.softmax(dim=1)
    return outputs if fractions else outputs.sigmoid()


def task_loss(outputs: torch.Tensor, targets: torch.Tensor, task: Task,
              class_weights: torch.Tensor | None = None, fractions: bool = False) -> torch.Tensor:
    """Cross-entropy on logits for classes (optionally class-weighted); MSE of the vote
    fractions (sigmoid outputs, or a tree head's outputs as they are)."""
    outputs = outputs.float()
    if task.kind == "classification":
        return torch.nn.functional.cross_entropy(outputs, targets, weight=class_weights)
    return torch.nn.functional.mse_loss(to_probabilities(outputs, task, fractions), targets.float())


TTA_VIEWS = (1, 4, 8)


def tta_views(tta: int) -> list[tuple[int, bool]]:
    """The ``(angle in degrees, horizontal flip)`` views that ``tta`` averages over: the
    identity (1), the four right-angle rotations (4), or those and their mirror images (8),
    the dihedral group of the square (Dieleman et al. 2015 average over these)."""
    if tta not in TTA_VIEWS:
        raise UserError(f"tta must be one of {TTA_VIEWS}, got {tta!r}")
    flips = (False, True) if tta == 8 else (False,)
    return [(90 * k, flip) for flip in flips for k in range(4)][:tta]


def transform_view(images: torch.Tensor, angle: int, flip: bool) -> torch.Tensor:
    """N×C×H×W crops as the native preprocessing makes them with ``angles=angle`` and
    ``flips=flip`` (rotated counter-clockwise about the centre, then mirrored): exact for
    right angles, so the crops of a batch need not be cut again."""
    if angle % 90:
        raise UserError(f"only right angles are exact on a crop, got {angle}")
    out = torch.rot90(images, angle // 90 % 4, dims=(-2, -1)) if angle % 360 else images
    return out.flip(-1) if flip else out


def averaged_probabilities(model: torch.nn.Module, images: torch.Tensor, task: Task,
                           tta: int = 1) -> torch.Tensor:
    """Probabilities or fractions averaged over the ``tta`` views after the output activation,
    for preprocessed N×C×S×S ``images``."""
    fractions = outputs_fractions(model)
    total = None
    for angle, flip in tta_views(tta):
        x = transform_view(images, angle, flip).contiguous(memory_format=torch.channels_last)
        outputs = model(x)
        probs = to_probabilities(outputs, task, fractions)
        total = probs if total is None else total + probs
    return total / tta


def probability_loss(probs: torch.Tensor, targets: torch.Tensor, task: Task) -> torch.Tensor:
    """The task loss of averaged probabilities: negative log-likelihood of the true class, or
    the MSE of the vote fractions."""
    if task.kind == "classification":
        return -probs.clamp_min(1e-12).log().gather(1, targets.long().view(-1, 1)).mean()
    return torch.nn.functional.mse_loss(probs, targets.float())


@dataclass
class Predictions:
    probabilities: np.ndarray  # N×C probabilities or N×K fractions
    targets: np.ndarray
    loss: float


@torch.no_grad()
def run_inference(model: torch.nn.Module, loader: BatchLoader, task: Task, *,
                  progress: bool = True, desc: str = "eval", tta: int = 1) -> Predictions:
    """Predict every sample of ``loader`` (in dataset order) with ``model`` in eval mode.

    ``tta`` 4 or 8: average the probabilities (vote fractions) over the right-angle rotations
    (and their mirror images) of each crop; the loss is then that of the averages."""
    model.eval()
    fractions = outputs_fractions(model)
    device = loader.device
    tta_views(tta)  # checked before any work
    n = len(loader.dataset)
    probs = np.zeros((n, task.num_outputs), dtype=np.float32)
    total_loss = 0.0
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")
    loader.set_epoch(0)
    for batch in tqdm(loader, desc=desc, leave=False, disable=not progress, unit="batch"):
        if tta == 1:
            with autocast:
                outputs = model(batch.images)
            loss = task_loss(outputs, batch.targets, task, fractions=fractions)
            averaged = to_probabilities(outputs, task, fractions)
        else:
            with autocast:
                averaged = averaged_probabilities(model, batch.images, task, tta)
            loss = probability_loss(averaged, batch.targets, task)
        total_loss += float(loss) * len(batch.indices)
        probs[batch.indices] = averaged.float().cpu().numpy()
    return Predictions(probs, np.asarray(loader.dataset.targets), total_loss / max(n, 1))


# One checkpoint, or a sequence of them: an ensemble whose members' predictions are averaged.
Checkpoints = Union[Path, str, Sequence[Union[Path, str]]]


def checkpoint_list(checkpoints: Checkpoints) -> list[Path | str]:
    """One checkpoint or an ensemble's, as a non-empty list."""
    if isinstance(checkpoints, (str, os.PathLike)):
        return [checkpoints]
    found = list(checkpoints)
    if not found:
        raise UserError("no checkpoint given")
    return found


def member_task(meta: Mapping[str, Any]) -> dict[str, Any]:
    return {"task": meta["task"]["kind"], "outputs": tuple(meta["task"]["outputs"])}


def check_ensemble(members: Sequence[tuple[Path, Mapping[str, Any]]],
                   shared: Callable[[Mapping[str, Any]], Mapping[str, Any]] = member_task) -> None:
    """Ensemble members, ``(checkpoint dir, meta)``, must agree on ``shared(meta)`` (by default
    the task kind and its outputs, in order): else a ValueError naming the first member that
    differs from the first checkpoint, and in what."""
    (first_dir, first), *rest = members
    want = shared(first)
    for directory, meta in rest:
        got = shared(meta)
        for key, value in want.items():
            if got[key] != value:
                raise UserError(f"ensemble member {directory} does not match {first_dir}: its {key} is "
                                 f"{got[key]!r}, the first checkpoint's {value!r}")


def ensemble_mean(members: Sequence[Predictions], task: Task) -> Predictions:
    """Equal-weight mean of several models' predictions of the same samples, after the output
    activation (and each model's test-time averaging); the loss is that of the mean."""
    probs = np.mean([m.probabilities for m in members], axis=0).astype(np.float32)
    targets = members[0].targets
    loss = probability_loss(torch.from_numpy(probs), torch.as_tensor(targets), task)
    return Predictions(probs, targets, float(loss))


def metric_names(task: Task, requested: Sequence[str] = ()) -> tuple[str, ...]:
    """The requested metrics (default: the task's standard set), checked against the task."""
    names = tuple(requested) or DEFAULT_METRICS[task.kind]
    for name in names:
        spec = registry.get_spec("metric", name)
        if task.kind not in spec.tasks:
            raise UserError(f"metric {name!r} does not apply to {task.kind} tasks")
    return names


def compute_metrics(names: Sequence[str], preds: Predictions, task: Task) -> dict[str, Any]:
    """Metric values by name: floats for scalar metrics, nested lists for arrays."""
    values: dict[str, Any] = {}
    for name in names:
        value = registry.create_metric(name)(preds.targets, preds.probabilities, task)
        values[name] = np.asarray(value).tolist() if registry.get_spec("metric", name).scalar is False \
            else float(value)
    return values


def scalar_metrics(values: Mapping[str, Any]) -> dict[str, float]:
    return {k: v for k, v in values.items() if isinstance(v, float)}
