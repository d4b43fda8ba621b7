"""Check a plugin's model, dataset or metric against the galaxyzoo contract.

In the spirit of scikit-learn's ``check_estimator``: a plugin author calls these from their
own tests, and galaxyzoo's suite runs them over every registered spec::

    from galaxyzoo.testing import check_model
    check_model(my_plugin.MODEL_SPEC)

Each ``check_*`` raises :class:`ContractError` naming the rule broken, or returns a
:class:`CheckResult` listing what it verified (``skipped`` says why a dataset check could not
run: its files are absent, which readers signal with a ``FileNotFoundError``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .errors import ContractError
from .specs import DatasetSpec, MetricSpec, ModelSpec, RecipeSpec, Task, resolve_builder

__all__ = [
    "CheckResult",
    "check_dataset",
    "check_metric",
    "check_model",
    "check_recipe",
]


@dataclass(frozen=True)
class CheckResult:
    kind: str
    name: str
    checks: tuple[str, ...]
    skipped: str = ""


def _require(ok: Any, kind: str, name: str, message: str) -> None:
    if not ok:
        raise ContractError(f"{kind} {name!r}: {message}")


def check_model(spec: ModelSpec, *, num_outputs: int = 3, batch_size: int = 2) -> CheckResult:
    """Build at the spec's size; forward, output shape/dtype, no NaN, a gradient for every
    parameter, in_chans honoured, and no mixing between samples in eval mode."""
    import torch  # only model checks need torch

    def require(ok: Any, message: str) -> None:
        _require(ok, "model", spec.name, message)

    def build(in_chans: int) -> torch.nn.Module:
        model = resolve_builder(spec.builder)(
            num_outputs=num_outputs, in_chans=in_chans, input_size=spec.input_size, **spec.defaults
        )
        require(isinstance(model, torch.nn.Module), f"builder returned {type(model).__name__}, not nn.Module")
        return model

    torch.manual_seed(0)
    size = spec.input_size
    model = build(spec.in_chans)
    params = dict((n, p) for n, p in model.named_parameters() if p.requires_grad)
    require(params, "has no trainable parameters")
    x = torch.randn(batch_size, spec.in_chans, size, size)
    model.train()
    out = model(x)
    require(isinstance(out, torch.Tensor), f"forward returned {type(out).__name__}, not a tensor")
    require(tuple(out.shape) == (batch_size, num_outputs),
            f"output shape {tuple(out.shape)}, expected {(batch_size, num_outputs)}")
    require(out.dtype == torch.float32, f"output dtype {out.dtype}, expected float32 for float32 input")
    require(torch.isfinite(out).all(), "output has NaN or inf")
    # Random weights, so no parameter's gradient cancels out by symmetry.
    (out * torch.randn_like(out)).sum().backward()
    missing = [n for n, p in params.items() if p.grad is None]
    require(not missing, f"no gradient reaches {missing}")
    bad = [n for n, p in params.items() if not torch.isfinite(p.grad).all()]
    require(not bad, f"non-finite gradient in {bad}")

    model.eval()
    with torch.no_grad():
        whole, alone = model(x), model(x[:1])
    require(torch.allclose(whole[:1], alone, rtol=1e-4, atol=1e-5),
            "in eval mode a sample's output depends on the rest of its batch")

    other_chans = 1 if spec.in_chans != 1 else 3
    try:
        with torch.no_grad():
            shape = tuple(build(other_chans).eval()(torch.randn(1, other_chans, size, size)).shape)
    except RuntimeError as exc:
        shape = f"{type(exc).__name__}: {exc}"
    require(shape == (1, num_outputs), f"in_chans={other_chans} is not honoured: {shape}")
    return CheckResult("model", spec.name, (
        "builds", "forward shape and dtype", "finite output", "gradient to every parameter",
        "eval batch independence", "in_chans honoured",
    ))


def check_dataset(
    spec: DatasetSpec, root: Any = None, splits: Sequence[str] | None = None, **options: Any
) -> CheckResult:
    """Open each split; the dataset protocol, targets against the task, image format,
    deterministic reads, unique ids within and across splits."""
    from .data.base import GalaxyDataset

    def require(ok: Any, message: str) -> None:
        _require(ok, "dataset", spec.name, message)

    build = resolve_builder(spec.builder)
    seen: dict[str, str] = {}
    for split in splits or spec.splits or ("train",):
        try:
            ds = build(split=split, root=root, **{**spec.defaults, **options})
        except FileNotFoundError as exc:
            return CheckResult("dataset", spec.name, (), skipped=str(exc))
        where = f"split {split!r}: "
        require(isinstance(ds, GalaxyDataset), where + f"{type(ds).__name__} lacks the GalaxyDataset attributes")
        require(spec.task is None or ds.task == spec.task,
                where + f"task {ds.task} differs from the spec's {spec.task}")
        n = len(ds)
        require(n > 0, where + "is empty")
        require(len(ds.ids) == n, where + f"{len(ds.ids)} ids for {n} samples")
        ids = [str(i) for i in ds.ids]
        require(len(set(ids)) == n, where + "ids are not unique")
        shared = set(ids) & seen.keys()
        require(not shared, where + f"shares ids with split {seen[next(iter(shared))]!r}" if shared else "")
        seen.update((i, split) for i in ids)
        if split != "unlabeled":  # no targets exist there (-1 / NaN by convention)
            _check_targets(np.asarray(ds.targets), ds.task, n, lambda ok, m: require(ok, where + m))

        images = ds.read_images([0, n - 1])
        require(isinstance(images, np.ndarray) and images.dtype == np.uint8,
                where + "read_images must return a uint8 NumPy array")
        require(images.ndim == 4 and images.shape[0] == 2 and images.shape[3] == 3,
                where + f"read_images shape {images.shape}, expected 2×H×W×3")
        if not options:
            expected = (spec.image_size, spec.image_size)
            require(images.shape[1:3] == expected, where + f"images are {images.shape[1:3]}, spec says {expected}")
        require(np.array_equal(ds.read_images([0])[0], images[0]), where + "reading the same image twice differs")
    return CheckResult("dataset", spec.name, (
        "protocol", "task", "ids unique across splits", "targets", "image format", "deterministic reads",
    ))


def _check_targets(targets: np.ndarray, task: Task, n: int, require: Any) -> None:
    if task.kind == "classification":
        require(targets.shape == (n,) and np.issubdtype(targets.dtype, np.integer),
                f"classification targets must be integers of shape ({n},), got {targets.dtype} {targets.shape}")
        require(targets.min() >= 0 and targets.max() < task.num_outputs,
                f"labels outside [0, {task.num_outputs})")
    else:
        require(targets.shape == (n, task.num_outputs) and np.issubdtype(targets.dtype, np.floating),
                f"vote fractions must be floats of shape ({n}, {task.num_outputs}), got {targets.dtype} {targets.shape}")
        require(np.isfinite(targets).all() and targets.min() >= 0 and targets.max() <= 1 + 1e-6,
                "vote fractions must be finite and within [0, 1]")


def _metric_cases(kind: str) -> tuple[Task, np.ndarray, dict[str, np.ndarray]]:
    """A task, true targets and three predictions: perfect, wrong and random."""
    rng = np.random.default_rng(0)
    if kind == "classification":
        task = Task("classification", ("a", "b", "c"))
        labels = np.tile(np.arange(3), 4)
        eye = np.eye(3, dtype=np.float32)
        random = rng.dirichlet(np.ones(3), size=labels.size).astype(np.float32)
        return task, labels, {"perfect": eye[labels], "wrong": eye[(labels + 1) % 3], "random": random}
    from .gz2 import tree as gz2_tree

    def fractions() -> np.ndarray:
        raw = rng.random((12, gz2_tree.NUM_COLUMNS)) + 0.05
        return gz2_tree.to_fractions(gz2_tree.normalize_per_question(raw)).astype(np.float32)

    task = Task("vote_fractions", gz2_tree.COLUMNS)
    truth = fractions()
    return task, truth, {"perfect": truth.copy(), "wrong": 1 - truth, "random": fractions()}


def check_metric(spec: MetricSpec) -> CheckResult:
    """For each task it supports: shapes accepted, finite result, perfect predictions score
    best (strictly better than wrong ones), inputs left unchanged, repeatable."""
    fn = resolve_builder(spec.fn)

    def require(ok: Any, message: str) -> None:
        _require(ok, "metric", spec.name, message)

    for kind in spec.tasks:
        task, truth, preds = _metric_cases(kind)
        inputs = (truth, *preds.values())
        snapshot = [a.copy() for a in inputs]
        values = {case: fn(truth, pred, task) for case, pred in preds.items()}
        require(all(map(np.array_equal, inputs, snapshot)), f"{kind}: the metric modified its inputs")
        for case, value in values.items():
            if spec.scalar:
                require(np.ndim(value) == 0, f"{kind}/{case}: expected a scalar, got shape {np.shape(value)}")
                require(np.isfinite(float(value)), f"{kind}/{case}: result {value} is not finite")
            else:
                array = np.asarray(value)
                require(array.ndim >= 1 and np.isfinite(array).all(), f"{kind}/{case}: expected a finite array")
        require(np.array_equal(np.asarray(fn(truth, preds["random"], task)), np.asarray(values["random"])),
                f"{kind}: two calls on the same inputs differ")
        if not spec.scalar:
            continue
        sign = 1 if spec.higher_is_better else -1
        perfect, wrong, random = (sign * float(values[c]) for c in ("perfect", "wrong", "random"))
        require(perfect > wrong, f"{kind}: perfect predictions ({values['perfect']}) do not beat wrong ones ({values['wrong']})")
        require(perfect >= random, f"{kind}: random predictions ({values['random']}) beat perfect ones ({values['perfect']})")
    best = ("perfect scores best",) if spec.scalar else ()
    return CheckResult("metric", spec.name, ("finite result", *best, "inputs unchanged", "repeatable"))


def check_recipe(spec: RecipeSpec) -> CheckResult:
    """The recipe's model, dataset and metrics are registered and fit together: the model and
    every metric support the dataset's task kind. (Field names and values were checked when
    the spec was made; see :class:`galaxyzoo.specs.RecipeSpec`.) Needs no torch."""
    from . import registry

    def require(ok: Any, message: str) -> None:
        _require(ok, "recipe", spec.name, message)

    def lookup(kind: str, name: str) -> Any:
        try:
            return registry.get_spec(kind, name)
        except KeyError as exc:
            raise ContractError(f"recipe {spec.name!r}: {exc}") from None

    dataset, model = lookup("dataset", spec.dataset), lookup("model", spec.model)
    kind = dataset.task.kind if dataset.task is not None else None
    require(kind is None or kind in model.tasks, f"model {spec.model!r} does not support {kind} tasks")
    for name in spec.metrics:
        metric = lookup("metric", name)
        require(kind is None or kind in metric.tasks, f"metric {name!r} does not support {kind} tasks")
    return CheckResult("recipe", spec.name, ("dataset registered", "model registered", "metrics registered",
                                              "task kinds agree"))
