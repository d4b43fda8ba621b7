"""A training run's settings (``config.json``) and the optimiser and schedule they name."""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any, Mapping

import numpy as np
import torch

from ..data.augment import Augment
from ..data.pipeline import Preprocessing
from ..errors import UserError
from ..specs import RecipeSpec

OPTIMIZERS = ("adamw", "adam", "sgd", "adamax")
SCHEDULES = ("cosine", "constant", "step")
# "auto": cross-entropy or, for vote fractions, MSE; "balanced": cross-entropy with class
# weights n / (classes · count), so a rare class counts as much as a common one.
LOSSES = ("auto", "balanced")


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
            raise UserError(f"unknown optimizer {self.optimizer!r}; choose from {OPTIMIZERS}")
        if self.schedule not in SCHEDULES:
            raise UserError(f"unknown schedule {self.schedule!r}; choose from {SCHEDULES}")
        if self.loss not in LOSSES:
            raise UserError(f"unknown loss {self.loss!r}; choose from {LOSSES}")
        if self.epochs < 1 or self.batch_size < 1 or self.input_size < 1 or self.lr <= 0:
            raise UserError("epochs, batch_size, input_size and lr must be positive")
        Preprocessing.from_dict({"size": self.input_size, **self.preprocess})
        Augment.from_dict(self.augment)


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
    after 23 M). ``constant``: the rate as given. The total is ``config.epochs`` as it is at
    each step, so :func:`epochs_within_budget` can squeeze the rest of the schedule."""
    def factor(step: int) -> float:
        total = config.epochs * steps_per_epoch  # read each step: a time budget may shorten it
        warmup = max(1, int(0.03 * total))
        if config.schedule == "constant":
            return 1.0
        if config.schedule == "step":
            return 0.01 if step >= 0.92 * total else 0.1 if step >= 0.72 * total else 1.0
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup))))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def epochs_within_budget(config: TrainConfig, epochs_done: int, epoch_times: list[float], budget_s: float) -> int:
    """The epochs whose schedule still ends inside a training-time budget: the planned ones
    while they fit at this run's pace (its mean epoch time, the first epoch, which pays the
    loader's start-up, left out once there are others), else those done plus the whole epochs
    the rest of the budget holds. A machine slower than its benchmark probe (or one that got
    busy) then ends its schedule on time instead of being cut at a high learning rate."""
    if not math.isfinite(budget_s) or not epoch_times:
        return config.epochs
    steady = epoch_times[1:] or epoch_times
    pace = sum(steady) / len(steady)
    if pace <= 0:
        return config.epochs
    return min(config.epochs, epochs_done + max(0, int((budget_s - sum(epoch_times)) // pace)))


def class_weights(config: TrainConfig, train_set, device: torch.device) -> torch.Tensor | None:
    """Per-class loss weights for ``loss="balanced"`` (absent classes get weight 0)."""
    if config.loss == "auto":
        return None
    if train_set.task.kind != "classification":
        raise UserError(f"loss {config.loss!r} needs a classification dataset")
    counts = np.bincount(np.asarray(train_set.targets), minlength=train_set.task.num_outputs)
    weights = np.where(counts > 0, counts.sum() / (len(counts) * np.maximum(counts, 1)), 0.0)
    return torch.tensor(weights, dtype=torch.float32, device=device)
