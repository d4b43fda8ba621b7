"""Evaluate trained models (one checkpoint or an ensemble) on a dataset split."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .. import registry
from ..atomic import atomic_write_json
from ..data.decode import verify_images
from ..data.problems import shown
from ..data.pipeline import BatchLoader, Preprocessing, Subset, random_subset
from ..errors import UserError
from ..runtime import resolve_device
from ..specs import Task
from . import plots
from .checkpoint import load_model, run_dir_of
from .inference import (Checkpoints, check_ensemble, checkpoint_list, compute_metrics, ensemble_mean,
                        metric_names, run_inference, scalar_metrics, tta_views)


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
    excluded: int = 0  # samples left out: their images could not be read


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
    from .preflight import check_evaluation; metrics = check_evaluation(members, data, name, split, metrics)  # before any work
    task = Task(**meta["task"])
    if data.task.kind != task.kind or tuple(data.task.outputs) != task.outputs:
        raise UserError(f"dataset {name!r} has outputs {tuple(data.task.outputs)}; the model was "
                         f"trained for {task.kind} with {task.outputs}")
    data, excluded = readable_only(data)
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
    if not np.isfinite(preds.probabilities).all():
        bad = int((~np.isfinite(preds.probabilities).all(axis=1)).sum())
        raise UserError(f"the model's outputs are not finite for {bad} of {len(preds.probabilities)} "
                        "samples: the checkpoint cannot be scored (did training diverge?)")
    values = compute_metrics(names, preds, task)
    folder = f"eval-ensemble-{name}-{split}" if ensemble else f"eval-{name}-{split}"
    out = Path(out_dir) if out_dir else run_dir_of(ckpt_dir) / folder
    out.mkdir(parents=True, exist_ok=True)
    checkpoints = tuple(directory for _, _, directory in members)
    atomic_write_json(out / "metrics.json", {
        "checkpoint": str(ckpt_dir), "checkpoints": [str(c) for c in checkpoints], "dataset": name,
        "dataset_options": options, "split": split, "samples": len(data), "tta": tta,
        "loss": preds.loss, "metrics": values, "excluded": len(excluded), "excluded_inputs": excluded,
    })
    if "confusion_matrix" in values:
        label = f"ensemble of {len(members)} models" if ensemble else meta["model"]
        plots.confusion_matrix(values["confusion_matrix"], task.outputs, out / "confusion_matrix.png",
                               title=f"{label} on {name}/{split}")
        from .gallery import mistakes_gallery  # the wrong answers given with the highest probability
        mistakes_gallery(data.read_images, list(getattr(data, "ids", range(len(data)))), preds.targets,
                         preds.probabilities, task.outputs, out / "mistakes.png",
                         mode=Preprocessing.from_dict(meta["preprocessing"]).mode)
    return Evaluation(values, task, len(data), out, tta, checkpoints, len(excluded))


def readable_only(data):
    """The samples of a file-backed dataset whose images decode, and a record of each left out:
    an unreadable image is excluded and counted, never scored as a black one."""
    paths = getattr(data, "paths", None)
    if paths is None or not len(paths):
        return data, []
    failed = dict(verify_images(list(paths), num_threads=min(os.cpu_count() or 1, 8)))
    if not failed:
        return data, []
    excluded = [{"id": shown(str(data.ids[i])), "path": shown(paths[i]), "reason": e.reason, "message": str(e)}
                for i, e in sorted(failed.items())]
    keep = [i for i in range(len(paths)) if i not in failed]
    if not keep:
        raise UserError(f"none of the {len(paths)} images can be read (first: {excluded[0]['message']})")
    return Subset(data, keep), excluded
