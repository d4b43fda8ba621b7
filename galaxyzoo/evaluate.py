"""Inference over a dataset and the metrics of a trained model."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence, Union

import numpy as np
import torch
from tqdm.auto import tqdm

from . import registry
from .checkpoint import atomic_write_json, load_model, run_dir_of
from .data.pipeline import BatchLoader, Preprocessing
from .heads import outputs_fractions
from .specs import Task

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
        raise ValueError(f"tta must be one of {TTA_VIEWS}, got {tta!r}")
    flips = (False, True) if tta == 8 else (False,)
    return [(90 * k, flip) for flip in flips for k in range(4)][:tta]


def transform_view(images: torch.Tensor, angle: int, flip: bool) -> torch.Tensor:
    """N×C×H×W crops as the native preprocessing makes them with ``angles=angle`` and
    ``flips=flip`` (rotated counter-clockwise about the centre, then mirrored): exact for
    right angles, so the crops of a batch need not be cut again."""
    if angle % 90:
        raise ValueError(f"only right angles are exact on a crop, got {angle}")
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
        raise ValueError("no checkpoint given")
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
                raise ValueError(f"ensemble member {directory} does not match {first_dir}: its {key} is "
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
            raise ValueError(f"metric {name!r} does not apply to {task.kind} tasks")
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


def format_table(values: Mapping[str, Any], task: Task) -> str:
    """A plain-text table: scalar metrics one per line, then any matrix/vector metric."""
    lines = [f"{name:<20} {value:.4f}" for name, value in scalar_metrics(values).items()]
    for name, value in values.items():
        if name == "confusion_matrix":
            width = max(len(c) for c in task.outputs)
            lines.append(f"\nconfusion matrix (rows: true, columns: predicted)")
            lines.append(" " * (width + 1) + " ".join(f"{i:>6}" for i in range(len(task.outputs))))
            lines += [f"{c:<{width}} " + " ".join(f"{v:>6}" for v in row) + f"   [{i}]"
                      for i, (c, row) in enumerate(zip(task.outputs, value))]
        elif not isinstance(value, float):
            lines.append(f"{name:<20} " + " ".join(f"{v:.4f}" for v in np.ravel(value)))
    return "\n".join(lines)


@dataclass
class Evaluation:
    metrics: dict[str, Any]
    task: Task
    samples: int
    out_dir: Path
    tta: int = 1
    checkpoints: tuple[Path, ...] = ()  # the resolved checkpoint directories, more than one for an ensemble


def evaluate_checkpoint(
    checkpoint: Checkpoints,
    *,
    dataset: str | None = None,
    split: str = "test",
    dataset_options: Mapping[str, Any] | None = None,
    root: str | None = None,
    metrics: Sequence[str] = (),
    out_dir: Path | str | None = None,
    batch_size: int = 128,
    workers: int | None = None,
    device: str = "auto",
    limit: int | None = None,
    progress: bool = True,
    tta: int = 1,
) -> Evaluation:
    """Evaluate a checkpoint on a dataset split; writes metrics JSON and plots to ``out_dir``
    (default ``RUN_DIR/eval-DATASET-SPLIT``).

    ``checkpoint``: one checkpoint, or a sequence of them, an ensemble: the metrics are those of
    the equal-weight mean of the members' probabilities (vote fractions), each member with its
    own preprocessing on the same samples; the members must share the task (kind and outputs).
    Its default ``out_dir`` is ``RUN_DIR_OF_FIRST/eval-ensemble-DATASET-SPLIT``.

    ``tta`` (1, 4 or 8): average each member's predictions over that many right-angle rotations
    and flips.

    Without ``dataset`` the first checkpoint's training dataset (with its options and root) is used.
    """
    from . import plots
    from .data.pipeline import random_subset
    from .train import resolve_device

    tta_views(tta)
    dev = resolve_device(device)
    members = [load_model(c, dev) for c in checkpoint_list(checkpoint)]
    check_ensemble([(directory, meta) for _, meta, directory in members])
    _, meta, ckpt_dir = members[0]
    name = dataset or meta["dataset"]
    if name == meta["dataset"]:  # the training dataset: same options, same files by default
        options = dict(meta.get("dataset_options", {}))
        root = root or meta.get("dataset_root")
    else:
        options = {}
    options.update(dataset_options or {})
    data = registry.create_dataset(name, split=split, root=root, **options)
    task = Task(**meta["task"])
    if data.task.kind != task.kind or tuple(data.task.outputs) != task.outputs:
        raise ValueError(f"dataset {name!r} has outputs {tuple(data.task.outputs)}; the model was "
                         f"trained for {task.kind} with {task.outputs}")
    if limit is not None:
        data = random_subset(data, limit, seed=0)
    names = metric_names(task, metrics)
    ensemble = len(members) > 1
    results = []
    for i, (model, member_meta, _) in enumerate(members):
        loader = BatchLoader(data, Preprocessing.from_dict(member_meta["preprocessing"]), batch_size,
                             workers=workers, device=dev)
        desc = f"evaluate {name}/{split}" + (f" model {i + 1}/{len(members)}" if ensemble else "")
        results.append(run_inference(model, loader, task, progress=progress, desc=desc, tta=tta))
    preds = ensemble_mean(results, task) if ensemble else results[0]
    values = compute_metrics(names, preds, task)
    folder = f"eval-ensemble-{name}-{split}" if ensemble else f"eval-{name}-{split}"
    out = Path(out_dir) if out_dir else run_dir_of(ckpt_dir) / folder
    out.mkdir(parents=True, exist_ok=True)
    checkpoints = tuple(directory for _, _, directory in members)
    atomic_write_json(out / "metrics.json", {
        "checkpoint": str(ckpt_dir), "checkpoints": [str(c) for c in checkpoints], "dataset": name,
        "dataset_options": options, "split": split, "samples": len(data), "tta": tta,
        "loss": preds.loss, "metrics": values,
    })
    if "confusion_matrix" in values:
        label = f"ensemble of {len(members)} models" if ensemble else meta["model"]
        plots.confusion_matrix(values["confusion_matrix"], task.outputs, out / "confusion_matrix.png",
                               title=f"{label} on {name}/{split}")
    return Evaluation(values, task, len(data), out, tta, checkpoints)
