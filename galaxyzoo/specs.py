"""What a plugin contributes: frozen, validated descriptions with lazy builders.

A builder is either a callable or a ``"package.module:function"`` string imported only when
the thing is built, so listing plugins never imports model or dataset code.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping, Union

__all__ = [
    "AUGMENT_KEYS",
    "Builder",
    "DatasetSpec",
    "INTERPOLATIONS",
    "LOSSES",
    "MetricSpec",
    "ModelSpec",
    "OPTIMIZERS",
    "PREPROCESS_KEYS",
    "ROI_MODES",
    "RecipeSpec",
    "SCHEDULES",
    "TASK_KINDS",
    "Task",
    "TaskKind",
    "resolve_builder",
]

Builder = Union[str, Callable[..., Any]]
TaskKind = Literal["classification", "vote_fractions"]
TASK_KINDS: tuple[str, ...] = ("classification", "vote_fractions")

# The names the core knows, as plain tuples so that validating a spec never imports torch.
# tests/test_plugin_docs.py checks them against the training code that consumes them.
OPTIMIZERS: tuple[str, ...] = ("adamw", "adam", "sgd", "adamax")
SCHEDULES: tuple[str, ...] = ("cosine", "constant", "step")
LOSSES: tuple[str, ...] = ("auto", "balanced")
#: ``RecipeSpec.preprocess`` keys (the fields of the checkpointed preprocessing, less ``size``,
#: which is the recipe's ``input_size``).
PREPROCESS_KEYS: tuple[str, ...] = ("mode", "threshold", "pad", "interp", "grayscale", "mean", "std", "crop")
#: ``mode`` values; ``"none"`` (the CLI's ``--roi none``) is stored as None: the whole image.
ROI_MODES: tuple[str | None, ...] = ("central", "seed", None)
INTERPOLATIONS: tuple[str, ...] = ("area", "bilinear")
#: ``RecipeSpec.augment`` keys.
AUGMENT_KEYS: tuple[str, ...] = ("rotate", "flip", "zoom", "contrast", "shift", "shear")


def resolve_builder(builder: Builder) -> Callable[..., Any]:
    """Import a ``"module:attr"`` builder (or return a callable unchanged)."""
    if callable(builder):
        return builder
    module_name, sep, attr = builder.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"builder {builder!r} must look like 'package.module:function'")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


@dataclass(frozen=True)
class Task:
    """What a dataset's targets mean.

    ``classification``: integer labels indexing ``outputs`` (the class names).
    ``vote_fractions``: float rows with one column per name in ``outputs``.
    """

    kind: TaskKind
    outputs: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.kind not in TASK_KINDS:
            raise ValueError(f"task kind must be one of {TASK_KINDS}, got {self.kind!r}")
        if len(self.outputs) < 1:
            raise ValueError("a task needs at least one class or column name")
        object.__setattr__(self, "outputs", tuple(self.outputs))

    @property
    def num_outputs(self) -> int:
        return len(self.outputs)


def _check_common(kind: str, name: str, summary: str) -> None:
    if not name or not all(c.isalnum() or c in "_-." for c in name):
        raise ValueError(f"{kind} name {name!r} must be non-empty and use only [A-Za-z0-9_.-]")
    if not summary or "\n" in summary:
        raise ValueError(f"{kind} {name!r} needs a one-line summary")


def _check_aliases(kind: str, name: str, aliases: tuple[str, ...]) -> None:
    if isinstance(aliases, str) or name in aliases:
        raise ValueError(f"{kind} {name!r}: aliases must be a tuple of other names, got {aliases!r}")
    for alias in aliases:
        _check_common(kind, alias, "alias")


@dataclass(frozen=True)
class ModelSpec:
    """A model architecture.

    ``builder(num_outputs=..., in_chans=..., input_size=..., **options) -> torch.nn.Module``;
    the module maps float N×C×S×S to raw outputs N×num_outputs (logits for classification;
    the training loop applies the task's output activation).
    """

    name: str
    summary: str
    builder: Builder
    input_size: int = 64
    in_chans: int = 3
    tasks: tuple[str, ...] = TASK_KINDS
    reference: str = ""
    defaults: Mapping[str, Any] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()  # former names, still accepted (e.g. by old checkpoints)

    def __post_init__(self) -> None:
        _check_common("model", self.name, self.summary)
        _check_aliases("model", self.name, self.aliases)
        if self.input_size < 1 or self.in_chans < 1:
            raise ValueError(f"model {self.name!r}: input_size and in_chans must be positive")
        if not set(self.tasks) <= set(TASK_KINDS):
            raise ValueError(f"model {self.name!r}: unknown task kinds {self.tasks}")


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset reader.

    ``builder(split=..., root=..., **options)`` returns an object following
    :class:`galaxyzoo.data.base.GalaxyDataset`. ``layout`` tells a user which files to put where
    when they are missing (nothing is ever downloaded). ``task`` is None for generic readers
    (e.g. any CSV catalog) whose classes or columns come from the data; ``splits`` empty means
    the data names its own splits.
    """

    name: str
    summary: str
    builder: Builder
    task: Task | None
    image_size: int = 424
    channels: int = 3
    splits: tuple[str, ...] = ("train", "val", "test")
    layout: str = ""
    reference: str = ""
    defaults: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_common("dataset", self.name, self.summary)


@dataclass(frozen=True)
class MetricSpec:
    """A metric: ``fn(y_true, y_pred, task) -> float`` (or an array when ``scalar`` is False).

    ``y_pred`` holds probabilities N×C for classification (``y_true`` integer labels N) and
    predicted fractions N×K for vote_fractions (``y_true`` N×K).
    """

    name: str
    summary: str
    fn: Builder
    tasks: tuple[str, ...] = TASK_KINDS
    higher_is_better: bool = True
    scalar: bool = True
    reference: str = ""

    def __post_init__(self) -> None:
        _check_common("metric", self.name, self.summary)
        if not set(self.tasks) <= set(TASK_KINDS):
            raise ValueError(f"metric {self.name!r}: unknown task kinds {self.tasks}")


@dataclass(frozen=True)
class RecipeSpec:
    """A named, reproducible training setup (dataset + preprocessing + model + optimisation).

    ``preprocess`` keys are passed to :func:`galaxyzoo.ops.preprocess` (e.g. ``mode``, ``pad``,
    ``grayscale``); ``augment`` keys are those of
    :class:`galaxyzoo.data.pipeline.Augment` (``rotate``, ``flip``, ``zoom``, ``shift``, ...).
    ``reported`` records the result the source document reports, for comparison.
    """

    name: str
    summary: str
    dataset: str
    model: str
    input_size: int
    epochs: int
    batch_size: int
    dataset_options: Mapping[str, Any] = field(default_factory=dict)
    model_options: Mapping[str, Any] = field(default_factory=dict)
    preprocess: Mapping[str, Any] = field(default_factory=dict)
    augment: Mapping[str, Any] = field(default_factory=dict)
    optimizer: str = "adamw"
    lr: float = 1e-3
    weight_decay: float = 0.0
    schedule: str = "cosine"
    loss: str = "auto"
    metrics: tuple[str, ...] = ()
    reference: str = ""
    reported: str = ""
    aliases: tuple[str, ...] = ()  # former names, still accepted

    def __post_init__(self) -> None:
        _check_common("recipe", self.name, self.summary)
        _check_aliases("recipe", self.name, self.aliases)
        if self.epochs < 1 or self.batch_size < 1 or self.input_size < 1:
            raise ValueError(f"recipe {self.name!r}: epochs, batch_size, input_size must be >= 1")
        if not isinstance(self.lr, (int, float)) or isinstance(self.lr, bool) or self.lr <= 0:
            raise ValueError(f"recipe {self.name!r}: lr must be a positive number, got {self.lr!r}")
        for what, value, known in (("optimizer", self.optimizer, OPTIMIZERS),
                                   ("schedule", self.schedule, SCHEDULES), ("loss", self.loss, LOSSES)):
            if value not in known:
                raise ValueError(f"recipe {self.name!r}: unknown {what} {value!r}; choose from {known}")
        object.__setattr__(self, "preprocess", _check_preprocess(self.name, self.preprocess))
        _check_keys(self.name, "augment", self.augment, AUGMENT_KEYS)
        if isinstance(self.metrics, str):
            raise ValueError(f"recipe {self.name!r}: metrics must be a tuple of names, got {self.metrics!r}")
        object.__setattr__(self, "metrics", tuple(self.metrics))


def _check_keys(recipe: str, what: str, values: Mapping[str, Any], known: tuple[str, ...]) -> None:
    if not isinstance(values, Mapping):
        raise ValueError(f"recipe {recipe!r}: {what} must be a dict, got {type(values).__name__}")
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ValueError(f"recipe {recipe!r}: unknown {what} keys {unknown}; known: {list(known)}")


def _check_preprocess(recipe: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Known keys and values; ``mode="none"`` (the CLI's spelling) becomes None."""
    _check_keys(recipe, "preprocess", values, PREPROCESS_KEYS)
    values = dict(values)
    if isinstance(values.get("mode"), str) and values["mode"].lower() == "none":
        values["mode"] = None
    if "mode" in values and values["mode"] not in ROI_MODES:
        raise ValueError(f"recipe {recipe!r}: preprocess mode {values['mode']!r}; choose from {ROI_MODES} "
                         "(\"none\" also means None: the whole image)")
    if "interp" in values and values["interp"] not in INTERPOLATIONS:
        raise ValueError(f"recipe {recipe!r}: preprocess interp {values['interp']!r}; choose from {INTERPOLATIONS}")
    if values.get("crop") is not None and values.get("mode", "central") is not None:
        raise ValueError(f"recipe {recipe!r}: preprocess crop needs mode=None")
    return values
