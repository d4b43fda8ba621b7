"""The training loop: plain PyTorch, reproducible, resumable bit for bit.

A run directory holds ``config.json``, ``metrics.json``/``metrics.csv`` (one record per
epoch), ``learning_curves.png``, ``confusion_matrix.png`` and the checkpoints
(:mod:`galaxyzoo.checkpoint`), with ``best`` and ``last`` links. Every epoch ends with a
checkpoint holding the model, optimiser, scheduler and RNG states; the data order and
augmentation of an epoch are a function of ``(seed, epoch)``, so ``resume`` continues exactly
where an uninterrupted run would be.
"""
from __future__ import annotations

import csv
import io
import json
import math
import random
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch
import torch.distributed as dist
from tqdm.auto import tqdm

from . import __version__, checkpoint, distributed, registry
from .data.pipeline import Augment, BatchLoader, Preprocessing, Subset, random_subset
from .evaluate import compute_metrics, metric_names, run_inference, scalar_metrics, task_loss
from .heads import outputs_fractions
from .specs import RecipeSpec

OPTIMIZERS = ("adamw", "adam", "sgd", "adamax")
SCHEDULES = ("cosine", "constant", "step")
# "auto": cross-entropy or, for vote fractions, MSE; "balanced": cross-entropy with class
# weights n / (classes · count), so a rare class counts as much as a common one.
LOSSES = ("auto", "balanced")
VAL_FRACTION = 0.1  # held out of "train" when a dataset has no "val" split


@dataclass
class TrainConfig:
    """Everything that determines a run; saved as the run's ``config.json``."""

    model: str
    dataset: str
    input_size: int = 64
    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    optimizer: str = "adamw"
    schedule: str = "cosine"
    loss: str = "auto"
    model_options: dict = field(default_factory=dict)
    dataset_options: dict = field(default_factory=dict)
    dataset_root: str | None = None
    preprocess: dict = field(default_factory=dict)
    augment: dict = field(default_factory=dict)
    metrics: tuple = ()
    monitor: str | None = None     # metric for best/early stopping; default: the first scalar one
    patience: int | None = None    # epochs without improvement before stopping
    seed: int = 0
    limit_train: int | None = None
    limit_val: int | None = None
    recipe: str | None = None

    @classmethod
    def from_recipe(cls, recipe: RecipeSpec, **overrides: Any) -> "TrainConfig":
        base = dict(
            model=recipe.model, dataset=recipe.dataset, input_size=recipe.input_size,
            epochs=recipe.epochs, batch_size=recipe.batch_size, lr=recipe.lr,
            weight_decay=recipe.weight_decay, optimizer=recipe.optimizer, schedule=recipe.schedule,
            loss=recipe.loss,
            model_options=dict(recipe.model_options), dataset_options=dict(recipe.dataset_options),
            preprocess=dict(recipe.preprocess), augment=dict(recipe.augment),
            metrics=tuple(recipe.metrics), recipe=recipe.name,
        )
        for key, value in overrides.items():
            if isinstance(base.get(key), dict) and value is not None:
                base[key] = {**base[key], **value}
            elif value is not None:
                base[key] = value
        return cls(**base)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        config = cls(**{k: v for k, v in values.items() if k in known})
        config.metrics = tuple(config.metrics)
        return config

    def validate(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose from {OPTIMIZERS}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; choose from {SCHEDULES}")
        if self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}; choose from {LOSSES}")
        if self.epochs < 1 or self.batch_size < 1 or self.input_size < 1 or self.lr <= 0:
            raise ValueError("epochs, batch_size, input_size and lr must be positive")
        Preprocessing.from_dict({"size": self.input_size, **self.preprocess})
        Augment.from_dict(self.augment)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda requested but no CUDA device is available")
    return device


def make_optimizer(config: TrainConfig, params) -> torch.optim.Optimizer:
    lr, wd = config.lr, config.weight_decay
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=wd)
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=wd)
    if config.optimizer == "adamax":
        return torch.optim.Adamax(params, lr=lr, weight_decay=wd)
    return torch.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True, weight_decay=wd)


def make_scheduler(config: TrainConfig, optimizer, steps_per_epoch: int):
    """Per-step schedule. ``cosine``: a short linear warm-up (3% of steps) then cosine decay to
    zero. ``step``: no warm-up, the rate divided by 10 after 72% and again after 92% of the
    steps, as Dieleman et al. (2015) did (0.04 → 0.004 after 18 M of 25 M examples → 0.0004
    after 23 M). ``constant``: the rate as given."""
    total = config.epochs * steps_per_epoch
    warmup = max(1, int(0.03 * total))

    def factor(step: int) -> float:
        if config.schedule == "constant":
            return 1.0
        if config.schedule == "step":
            return 0.01 if step >= 0.92 * total else 0.1 if step >= 0.72 * total else 1.0
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup))))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


# --- RNG state ------------------------------------------------------------------------------

def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict[str, Any]:
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": list(torch.cuda.get_rng_state_all()) if torch.cuda.is_available() else [],
        "numpy": {"name": name, "keys": keys, "pos": pos, "has_gauss": has_gauss, "gauss": gauss},
        "python": {"version": version, "internal": list(internal), "gauss_next": gauss_next},
    }


def set_rng_state(state: Mapping[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    n = state["numpy"]
    np.random.set_state((n["name"], n["keys"], n["pos"], n["has_gauss"], n["gauss"]))
    p = state["python"]
    random.setstate((p["version"], tuple(p["internal"]), p["gauss_next"]))


# --- run outputs ------------------------------------------------------------------------------

def _write_history(run_dir: Path, history: list[dict], summary: dict) -> None:
    checkpoint.atomic_write_json(run_dir / "metrics.json", {**summary, "epochs": history})
    columns = list(dict.fromkeys(k for record in history for k, v in record.items()
                                 if not isinstance(v, (list, dict))))
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(history)
    checkpoint.atomic_write_bytes(run_dir / "metrics.csv", text.getvalue().encode())


@dataclass
class TrainResult:
    run_dir: Path
    best: Path
    last: Path
    history: list[dict]
    monitor: str
    best_value: float
    stopped_early: bool


def _open_datasets(config: TrainConfig):
    spec = registry.get_spec("dataset", config.dataset)
    opts = dict(config.dataset_options)
    train = registry.create_dataset(config.dataset, split="train", root=config.dataset_root, **opts)
    if "val" in spec.splits:
        val = registry.create_dataset(config.dataset, split="val", root=config.dataset_root, **opts)
    else:
        order = np.random.default_rng((config.seed, len(train))).permutation(len(train))
        cut = max(1, int(VAL_FRACTION * len(train)))
        train, val = Subset(train, np.sort(order[cut:])), Subset(train, np.sort(order[:cut]))
    if config.limit_train is not None:
        train = random_subset(train, config.limit_train, config.seed)
    if config.limit_val is not None:
        val = random_subset(val, config.limit_val, config.seed)
    return train, val


@dataclass
class _Progress:
    """What early stopping and best-checkpoint selection remember between epochs."""

    history: list = field(default_factory=list)
    best_value: float = math.nan
    best_epoch: int = 0
    bad_epochs: int = 0

    def update(self, value: float, epoch: int, higher_is_better: bool) -> bool:
        improved = self.best_epoch == 0 or (
            value > self.best_value if higher_is_better else value < self.best_value)
        if improved:
            self.best_value, self.best_epoch, self.bad_epochs = value, epoch, 0
        else:
            self.bad_epochs += 1
        return improved


def _load_config(config: TrainConfig | None, run_dir: Path, resume: bool) -> TrainConfig:
    config_path = run_dir / "config.json"
    if resume:
        if not config_path.is_file():
            raise FileNotFoundError(f"{run_dir}: nothing to resume (no config.json)")
        config = TrainConfig.from_dict(json.loads(config_path.read_text()))
        config.validate()
        return config
    if checkpoint.find_latest(run_dir) is not None or config_path.exists():
        raise FileExistsError(f"{run_dir} already holds a run; pass --resume to continue it "
                              "or choose another output directory")
    config.validate()
    return config


def _choose_monitor(config: TrainConfig, metrics: Sequence[str]) -> str:
    scalar = [n for n in metrics if registry.get_spec("metric", n).scalar]
    if config.monitor is None:
        if not scalar:
            raise ValueError("the run's metrics include no scalar metric to select checkpoints by")
        return scalar[0]
    if config.monitor not in scalar:
        raise ValueError(f"--monitor {config.monitor!r} must be one of the run's scalar metrics {scalar}")
    return config.monitor


def class_weights(config: TrainConfig, train_set, device: torch.device) -> torch.Tensor | None:
    """Per-class loss weights for ``loss="balanced"`` (absent classes get weight 0)."""
    if config.loss == "auto":
        return None
    if train_set.task.kind != "classification":
        raise ValueError(f"loss {config.loss!r} needs a classification dataset")
    counts = np.bincount(np.asarray(train_set.targets), minlength=train_set.task.num_outputs)
    weights = np.where(counts > 0, counts.sum() / (len(counts) * np.maximum(counts, 1)), 0.0)
    return torch.tensor(weights, dtype=torch.float32, device=device)


def _train_epoch(model, loader: BatchLoader, optimizer, scheduler, task, loss_weights, desc: str,
                 progress: bool, deadline: float = math.inf,
                 distributed: bool = False) -> tuple[float, int]:
    """One pass over the training data (cut short at ``deadline``, a perf_counter time);
    returns the mean loss and the number of images trained on (over all ranks when
    ``distributed``)."""
    model.train()
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=loader.device.type == "cuda")
    bar = tqdm(loader, desc=desc, leave=False, disable=not progress, unit="batch")
    loss_sum, seen = torch.zeros((), device=loader.device), 0
    fractions = outputs_fractions(model)
    for step, batch in enumerate(bar):
        with autocast:
            outputs = model(batch.images)
        loss = task_loss(outputs, batch.targets, task, loss_weights, fractions)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        loss_sum += loss.detach() * len(batch.indices)
        seen += len(batch.indices)
        if step % 10 == 0:  # reading the loss waits for the device; not every step
            bar.set_postfix(loss=f"{float(loss_sum) / seen:.4f}")
        stop = time.perf_counter() >= deadline
        if distributed and deadline != math.inf:  # every rank stops at the same step
            flag = torch.tensor(float(stop), device=loader.device)
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            stop = bool(flag)
        if stop:
            break
    if distributed:
        totals = torch.stack([loss_sum.float(), torch.tensor(float(seen), device=loader.device)])
        dist.all_reduce(totals)
        return float(totals[0]) / max(float(totals[1]), 1.0), int(totals[1])
    return float(loss_sum) / max(seen, 1), seen


def train(
    config: TrainConfig | None,
    run_dir: Path | str,
    *,
    resume: bool = False,
    workers: int | None = None,
    device: str = "auto",
    progress: bool = True,
    stop_after_epoch: int | None = None,
    time_budget_s: float | None = None,
) -> TrainResult:
    """Train (or, with ``resume``, continue) the run in ``run_dir``.

    When resuming, ``config`` is ignored: the run's saved ``config.json`` is used.
    ``stop_after_epoch`` ends this call after that many epochs as if the process had been
    interrupted (used to test resuming); ``workers`` and ``device`` do not change the result
    on a given machine and are therefore not part of the saved configuration.
    ``time_budget_s`` ends training, mid-epoch if need be, once that much training time is
    spent (the cut epoch is still validated and saved; benchmarks use it).

    Launched by ``torchrun`` (WORLD_SIZE > 1), each process trains a
    DistributedDataParallel replica on its share of every global batch of ``batch_size``;
    rank 0 alone validates and writes the run's outputs.
    """
    run_dir = Path(run_dir)
    ddp, dev = distributed.join(resolve_device(device))
    completed = False
    try:
        result = _train(config, run_dir, resume, workers, dev, progress and ddp.is_main,
                        stop_after_epoch, time_budget_s, ddp)
        completed = True
        return result
    finally:  # ranks meet, then the process group goes, before anything else shuts down
        distributed.leave(ddp, completed=completed)


def _train(config, run_dir: Path, resume: bool, workers, dev: torch.device, progress: bool,
           stop_after_epoch, time_budget_s, ddp: distributed.DistContext) -> TrainResult:
    config = _load_config(config, run_dir, resume)
    seed_everything(config.seed)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = False

    train_set, val_set = _open_datasets(config)
    task = train_set.task
    if task.kind not in registry.get_spec("model", config.model).tasks:
        raise ValueError(f"model {config.model!r} does not support {task.kind} tasks")
    metrics = metric_names(task, config.metrics)
    monitor = _choose_monitor(config, metrics)
    higher_better = registry.get_spec("metric", monitor).higher_is_better
    prep = Preprocessing.from_dict({"size": config.input_size, **config.preprocess})

    model = registry.create_model(config.model, num_outputs=task.num_outputs, in_chans=prep.channels,
                                  input_size=config.input_size, **config.model_options)
    model = model.to(dev).to(memory_format=torch.channels_last)
    train_loader = BatchLoader(train_set, prep, config.batch_size, shuffle=True,
                               augment=Augment.from_dict(config.augment), seed=config.seed,
                               workers=workers, device=dev, drop_last=len(train_set) > config.batch_size,
                               rank=ddp.rank, world_size=ddp.world_size)
    val_loader = BatchLoader(val_set, prep, config.batch_size, workers=workers, device=dev)
    try:
        optimizer = make_optimizer(config, model.parameters())
        scheduler = make_scheduler(config, optimizer, len(train_loader))
        loss_weights = class_weights(config, train_set, dev)
        meta_base = {
            "model": config.model, "model_options": config.model_options,
            "num_outputs": task.num_outputs, "in_chans": prep.channels, "input_size": config.input_size,
            "task": {"kind": task.kind, "outputs": list(task.outputs)},
            "preprocessing": prep.to_dict(), "dataset": config.dataset,
            "dataset_options": config.dataset_options, "dataset_root": config.dataset_root,
            # Prediction decodes files to this square size so crops match training.
            "source_size": int(np.asarray(train_set.read_images([0])).shape[1]),
            "recipe": config.recipe, "galaxyzoo_version": __version__,
        }

        if ddp.active:  # every rank has checked the run directory before rank 0 writes to it
            dist.barrier()
        if not resume and ddp.is_main:  # written once everything above has been checked
            run_dir.mkdir(parents=True, exist_ok=True)
            checkpoint.atomic_write_json(run_dir / "config.json", asdict(config))
        progress_state, start = _Progress(), 0
        latest = checkpoint.find_latest(run_dir) if resume else None
        if latest is not None:
            _, saved_weights, state = checkpoint.read_checkpoint(latest, with_state=True)
            model.load_state_dict(saved_weights)
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            set_rng_state(state["rng"])
            progress_state = _Progress(**state["progress"])
            start = state["epoch"]
        net = model  # the model itself: validated and saved (a DDP wrapper only trains)
        if ddp.active:
            model = torch.nn.parallel.DistributedDataParallel(
                net, device_ids=[dev.index] if dev.type == "cuda" else None)
            model.outputs_fractions = outputs_fractions(net)

        stopped_early, training_seconds = False, 0.0
        budget = math.inf if time_budget_s is None else time_budget_s
        for epoch in range(start, config.epochs):
            if training_seconds >= budget:
                break
            if config.patience is not None and progress_state.bad_epochs >= config.patience:
                stopped_early = True
                break
            if stop_after_epoch is not None and epoch >= stop_after_epoch:
                break
            started = time.perf_counter()
            train_loader.set_epoch(epoch)
            train_loss, train_images = _train_epoch(
                model, train_loader, optimizer, scheduler, task, loss_weights,
                f"epoch {epoch + 1}/{config.epochs}", progress, started + budget - training_seconds,
                ddp.active)
            train_seconds = time.perf_counter() - started
            training_seconds += train_seconds
            if ddp.is_main:
                preds = run_inference(net, val_loader, task, progress=progress, desc="validate")
                val_loss, values = preds.loss, compute_metrics(metrics, preds, task)
            if ddp.active:  # every rank keeps the same history, best value and stopping decision
                shared = [val_loss, values] if ddp.is_main else [None, None]
                dist.broadcast_object_list(shared, src=0)
                val_loss, values = shared
            record = {
                "epoch": epoch + 1, "train_loss": train_loss, "val_loss": val_loss,
                **{f"val_{k}": v for k, v in values.items()},
                "lr": optimizer.param_groups[0]["lr"], "seconds": round(time.perf_counter() - started, 3),
                "train_seconds": round(train_seconds, 3), "train_images": train_images,
            }
            progress_state.history.append(record)
            improved = progress_state.update(values[monitor], epoch + 1, higher_better)
            if not ddp.is_main:
                continue

            state = {"epoch": epoch + 1, "optimizer": optimizer.state_dict(),
                     "scheduler": scheduler.state_dict(), "rng": rng_state(),
                     "progress": asdict(progress_state)}
            meta = {**meta_base, "epoch": epoch + 1, "metrics": {"val_loss": val_loss, **values}}
            saved = checkpoint.write_checkpoint(checkpoint.epoch_dir(run_dir, epoch + 1),
                                                net.state_dict(), meta, state)
            checkpoint.atomic_symlink(run_dir / "last", saved)
            if improved:
                checkpoint.atomic_symlink(run_dir / "best", saved)
            checkpoint.prune(run_dir, {saved, (run_dir / "best").resolve()})
            _write_outputs(run_dir, progress_state, monitor, values, task, improved)
            shown = "  ".join(f"{k} {v:.4f}" for k, v in scalar_metrics(values).items())
            tqdm.write(f"epoch {epoch + 1}/{config.epochs}  train_loss {train_loss:.4f}  "
                       f"val_loss {val_loss:.4f}  {shown}  ({record['seconds']:.1f}s)"
                       + ("  *" if improved else ""))

        return TrainResult(run_dir, (run_dir / "best").resolve(), (run_dir / "last").resolve(),
                           progress_state.history, monitor, progress_state.best_value, stopped_early)
    finally:  # worker processes end here, before the process group does
        train_loader.close()
        val_loader.close()


def _write_outputs(run_dir: Path, progress: _Progress, monitor: str, values: Mapping[str, Any],
                   task, improved: bool) -> None:
    from . import plots

    _write_history(run_dir, progress.history, {"monitor": monitor, "best_epoch": progress.best_epoch,
                                               "best_value": progress.best_value})
    plots.learning_curves(progress.history, run_dir / "learning_curves.png", monitor)
    if improved and "confusion_matrix" in values:
        plots.confusion_matrix(values["confusion_matrix"], task.outputs, run_dir / "confusion_matrix.png",
                               title=f"validation, epoch {progress.best_epoch}")
