"""The training loop: plain PyTorch, reproducible, resumable bit for bit.

A run directory holds ``config.json``, ``metrics.json``/``metrics.csv`` (one record per
epoch), ``learning_curves.png``, ``confusion_matrix.png`` and the checkpoints
(:mod:`galaxyzoo.workflows.checkpoint`), with ``best`` and ``last`` links. Every epoch ends
with a checkpoint holding the model, optimiser, scheduler and RNG states; the data order and
augmentation of an epoch are a function of ``(seed, epoch)``, so ``resume`` continues exactly
where an uninterrupted run would be.

A run goes through named steps over one :class:`_Run` state: :func:`_setup` (configuration,
data, model, optimiser), :func:`_open_run_dir`, :func:`_restore` (when resuming), then per
epoch :func:`_train_epoch`, :func:`_validate` and :func:`_save_epoch`.
"""
from __future__ import annotations

import json
import math
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch
import torch.distributed as dist
from tqdm.auto import tqdm

from .. import __version__, registry, runtime
from ..atomic import atomic_symlink, atomic_write_json
from ..data.augment import Augment
from ..data.pipeline import BatchLoader, Subset, random_subset
from ..data.preprocessing import Preprocessing
from ..errors import InputNotFoundError, OutputExistsError, UserError
from ..gz2.heads import outputs_fractions
from ..specs import Task
from . import checkpoint, guards
from .inference import compute_metrics, metric_names, run_inference, scalar_metrics, task_loss
from .run_outputs import count_reasons, dropped_rows, report_dropped, write_run_outputs
from .rng import rng_state, seed_everything, set_rng_state
from .train_config import TrainConfig, class_weights, epochs_within_budget, make_optimizer, make_scheduler

VAL_FRACTION = 0.1  # held out of "train" when a dataset has no "val" split


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
        improved = self.best_epoch == 0 or math.isnan(self.best_value) or (
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
            raise InputNotFoundError(f"{run_dir}: nothing to resume (no config.json)")
        try:
            config = TrainConfig.from_dict(json.loads(config_path.read_text()))
            config.validate()
        except (TypeError, ValueError) as exc:  # edited by hand: wrong types or values
            raise UserError(f"{config_path}: not valid run settings ({exc})") from None
        return config
    if checkpoint.find_latest(run_dir) is not None or config_path.exists():
        raise OutputExistsError(f"{run_dir} already holds a run; pass --resume to continue it "
                              "or choose another output directory")
    config.validate()
    return config


def _choose_monitor(config: TrainConfig, metrics: Sequence[str]) -> str:
    scalar = [n for n in metrics if registry.get_spec("metric", n).scalar]
    if config.monitor is None:
        if not scalar:
            raise UserError("the run's metrics include no scalar metric to select checkpoints by")
        return scalar[0]
    if config.monitor not in scalar:
        raise UserError(f"--monitor {config.monitor!r} must be one of the run's scalar metrics {scalar}")
    return config.monitor


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
            guards.check_loss(float(loss_sum), desc, step)
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
        guards.check_loss(float(totals[0]), desc, step)
        return float(totals[0]) / max(float(totals[1]), 1.0), int(totals[1])
    guards.check_loss(float(loss_sum), desc, step)
    return float(loss_sum) / max(seen, 1), seen


@dataclass
class _Run:
    """One training run's state, passed between its steps."""

    config: TrainConfig
    run_dir: Path
    device: torch.device
    ddp: runtime.DistContext
    progress: bool
    task: Task
    metrics: tuple[str, ...]
    monitor: str
    higher_is_better: bool
    net: torch.nn.Module  # the model itself: validated and saved
    model: torch.nn.Module  # what trains: ``net``, or its DistributedDataParallel wrapper
    train_loader: BatchLoader
    val_loader: BatchLoader
    optimizer: torch.optim.Optimizer
    scheduler: Any
    loss_weights: torch.Tensor | None
    meta: dict  # the checkpoints' metadata, less the epoch's
    state: _Progress = field(default_factory=_Progress)
    start_epoch: int = 0
    dropped: list = field(default_factory=list)  # the rows the dataset reader left out

    def close(self) -> None:
        self.train_loader.close()
        self.val_loader.close()


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
    ddp, dev = runtime.join(runtime.resolve_device(device))
    completed = False
    try:
        run = _setup(config, run_dir, resume, workers, dev, progress and ddp.is_main, ddp)
        try:
            with _claim(run_dir, resume) if ddp.is_main else nullcontext():
                if not resume and (run_dir / "config.json").exists():
                    raise OutputExistsError(f"{run_dir} already holds a run; pass --resume to continue it")
                _open_run_dir(run, resume)
                if resume:
                    _restore(run)
                result = _fit(run, stop_after_epoch, time_budget_s)
        finally:  # worker processes end here, before the process group does
            run.close()
        completed = True
        return result
    finally:  # ranks meet, then the process group goes, before anything else shuts down
        runtime.leave(ddp, completed=completed)


def _claim(run_dir: Path, resume: bool):
    """The run folder's lock; a new run that fails before its first checkpoint leaves nothing."""
    if resume:
        return guards.output_lock(run_dir, "train")
    return guards.fresh_output(run_dir, "train", lambda: checkpoint.find_latest(run_dir) is not None)


def _setup(config: TrainConfig | None, run_dir: Path, resume: bool, workers: int | None,
           dev: torch.device, progress: bool, ddp: runtime.DistContext) -> _Run:
    """Everything a run needs, checked before anything is written."""
    config = _load_config(config, run_dir, resume)
    seed_everything(config.seed)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = False

    train_set, val_set = _open_datasets(config)
    task, dropped = train_set.task, dropped_rows(train_set, val_set)
    if task.kind not in registry.get_spec("model", config.model).tasks:
        raise UserError(f"model {config.model!r} does not support {task.kind} tasks")
    metrics = metric_names(task, config.metrics)
    monitor = _choose_monitor(config, metrics)
    prep = Preprocessing.from_dict({"size": config.input_size, **config.preprocess})

    net = checkpoint.build_model(config.model, config.model_options, num_outputs=task.num_outputs,
                             in_chans=prep.channels, input_size=config.input_size)
    from .preflight import check_training; check_training(config, net, train_set, val_set, prep)  # before any work
    net = net.to(dev).to(memory_format=torch.channels_last)
    train_loader = BatchLoader(train_set, prep, config.batch_size, shuffle=True,
                               augment=Augment.from_dict(config.augment), seed=config.seed,
                               workers=workers, device=dev, drop_last=len(train_set) > config.batch_size,
                               rank=ddp.rank, world_size=ddp.world_size)
    val_loader = BatchLoader(val_set, prep, config.batch_size, workers=workers, device=dev)
    try:
        optimizer = make_optimizer(config, net.parameters())
        meta = {
            "model": config.model, "model_options": config.model_options,
            "num_outputs": task.num_outputs, "in_chans": prep.channels, "input_size": config.input_size,
            "task": {"kind": task.kind, "outputs": list(task.outputs)},
            "preprocessing": prep.to_dict(), "dataset": config.dataset,
            "dataset_options": config.dataset_options, "dataset_root": config.dataset_root,
            # Prediction decodes files to this square size so crops match training.
            "source_size": int(np.asarray(train_set.read_images([0])).shape[1]),
            "recipe": config.recipe, "galaxyzoo_version": __version__, "config": asdict(config),
            "dropped_rows": count_reasons(dropped),
        }
        return _Run(config, run_dir, dev, ddp, progress, task, metrics, monitor,
                    registry.get_spec("metric", monitor).higher_is_better, net, net,
                    train_loader, val_loader, optimizer,
                    make_scheduler(config, optimizer, len(train_loader)),
                    class_weights(config, train_set, dev), meta, dropped=dropped)
    except BaseException:
        train_loader.close()
        val_loader.close()
        raise


def _open_run_dir(run: _Run, resume: bool) -> None:
    """Write ``config.json`` (a new run), once every rank has checked the run directory; then
    wrap the model for DistributedDataParallel training."""
    if run.ddp.active:
        dist.barrier()
    if not resume and run.ddp.is_main:
        run.run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_json(run.run_dir / "config.json", asdict(run.config))
    if run.ddp.is_main:
        report_dropped(run.run_dir, run.dropped)
    if run.ddp.active:
        dev = run.device
        run.model = torch.nn.parallel.DistributedDataParallel(
            run.net, device_ids=[dev.index] if dev.type == "cuda" else None)
        run.model.outputs_fractions = outputs_fractions(run.net)


def _restore(run: _Run) -> None:
    """Continue from the run's latest complete checkpoint: weights, optimiser, schedule, RNGs."""
    latest = checkpoint.find_latest(run.run_dir)
    if latest is None:
        return
    meta, saved_weights, state = checkpoint.read_checkpoint(latest, with_state=True)
    guards.check_resume(meta.get("config"), json.loads(json.dumps(asdict(run.config))), latest)
    run.net.load_state_dict(saved_weights)
    run.optimizer.load_state_dict(state["optimizer"])
    run.scheduler.load_state_dict(state["scheduler"])
    set_rng_state(state["rng"])
    run.state = _Progress(**state["progress"])
    run.start_epoch = state["epoch"]


def _fit(run: _Run, stop_after_epoch: int | None, time_budget_s: float | None) -> TrainResult:
    """The epochs: train, validate, save, until the last epoch, patience or the time budget."""
    config, state = run.config, run.state
    stopped_early, epoch_times = False, []  # this call's training seconds per epoch
    budget = math.inf if time_budget_s is None else time_budget_s
    for epoch in range(run.start_epoch, config.epochs):
        if sum(epoch_times) >= budget or epoch >= config.epochs:
            break
        if config.patience is not None and state.bad_epochs >= config.patience:
            stopped_early = True
            break
        if stop_after_epoch is not None and epoch >= stop_after_epoch:
            break
        started = time.perf_counter()
        run.train_loader.set_epoch(epoch)
        train_loss, train_images = _train_epoch(
            run.model, run.train_loader, run.optimizer, run.scheduler, run.task, run.loss_weights,
            f"epoch {epoch + 1}/{config.epochs}", run.progress, started + budget - sum(epoch_times),
            run.ddp.active)
        train_seconds = time.perf_counter() - started
        epoch_times.append(train_seconds)
        if not run.ddp.active:  # (ranks would each decide on their own clock)
            config.epochs = epochs_within_budget(config, epoch + 1, epoch_times, budget)
        val_loss, values = _validate(run)
        bad = guards.non_finite(run.net.state_dict()) + ["val_loss"] * (not guards.is_finite(val_loss))
        if bad:
            raise guards.DivergedError(
                f"training diverged in epoch {epoch + 1}: non-finite {', '.join(bad[:5])}; this epoch "
                "was not saved (best/last keep the last finite epoch); try a lower --lr")
        record = {
            "epoch": epoch + 1, "train_loss": train_loss, "val_loss": val_loss,
            **{f"val_{k}": v for k, v in values.items()},
            "lr": run.optimizer.param_groups[0]["lr"], "seconds": round(time.perf_counter() - started, 3),
            "train_seconds": round(train_seconds, 3), "train_images": train_images,
        }
        state.history.append(record)
        improved = state.update(values[run.monitor], epoch + 1, run.higher_is_better)
        if run.ddp.is_main:
            _save_epoch(run, epoch + 1, val_loss, values, improved)
            shown = "  ".join(f"{k} {v:.4f}" for k, v in scalar_metrics(values).items())
            tqdm.write(f"epoch {epoch + 1}/{config.epochs}  train_loss {train_loss:.4f}  "
                       f"val_loss {val_loss:.4f}  {shown}  ({record['seconds']:.1f}s)"
                       + ("  *" if improved else ""))
    return TrainResult(run.run_dir, (run.run_dir / "best").resolve(), (run.run_dir / "last").resolve(),
                       state.history, run.monitor, state.best_value, stopped_early)


def _validate(run: _Run) -> tuple[float, dict[str, Any]]:
    """Validation loss and metrics, computed on rank 0 and shared, so every rank keeps the same
    history, best value and stopping decision."""
    val_loss = values = None
    if run.ddp.is_main:
        preds = run_inference(run.net, run.val_loader, run.task, progress=run.progress, desc="validate")
        val_loss, values = preds.loss, compute_metrics(run.metrics, preds, run.task)
    if run.ddp.active:
        shared = [val_loss, values]
        dist.broadcast_object_list(shared, src=0)
        val_loss, values = shared
    return val_loss, values


def _save_epoch(run: _Run, epoch: int, val_loss: float, values: Mapping[str, Any], improved: bool) -> None:
    """The epoch's checkpoint (with everything resuming needs), the ``last``/``best`` links,
    and the run's metrics tables and plots."""
    state = {"epoch": epoch, "optimizer": run.optimizer.state_dict(),
             "scheduler": run.scheduler.state_dict(), "rng": rng_state(),
             "progress": asdict(run.state)}
    meta = {**run.meta, "epoch": epoch, "metrics": {"val_loss": val_loss, **values}}
    saved = checkpoint.write_checkpoint(checkpoint.epoch_dir(run.run_dir, epoch),
                                        run.net.state_dict(), meta, state)
    atomic_symlink(run.run_dir / "last", saved)
    if improved:
        atomic_symlink(run.run_dir / "best", saved)
    checkpoint.prune(run.run_dir, {saved, (run.run_dir / "best").resolve()})
    write_run_outputs(run.run_dir, run.state, run.monitor, values, run.task, improved,
                      {"dropped_rows": run.meta["dropped_rows"]})
