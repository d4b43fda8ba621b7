"""The registry: look up and build what plugins contribute.

Plugins load on first use, not at import, and the result is cached until :func:`reset`.
Names are plain (``resnet``) or qualified by distribution (``galaxyzoo:resnet``); the
qualified form reaches a spec that lost a name clash to an earlier plugin. Patterns are
shell-style wildcards, matched case-insensitively.

Environment: ``GALAXYZOO_DISABLE_PLUGINS`` (comma list of entry-point or distribution names;
the item ``all`` or ``1`` means every third-party plugin), ``GALAXYZOO_STRICT_PLUGINS=1`` (any plugin
problem raises :class:`PluginError`), ``GALAXYZOO_TRACE_PLUGINS=1`` (log loading on stderr).
"""
from __future__ import annotations

import difflib
import fnmatch
import threading
import warnings
from typing import Any, Callable

from .errors import PluginError, UnknownNameError, UserError
from .plugin_loading import KINDS, Entry, Loaded, PluginRecord, env_flag, load_plugins, normalize_dist
from .specs import DatasetSpec, MetricSpec, ModelSpec, RecipeSpec, resolve_builder

STRICT_ENV = "GALAXYZOO_STRICT_PLUGINS"


class PluginWarning(UserWarning):
    """Issued once per loading pass when some plugin had problems (the CLI prints them instead)."""


#: Whether loading warns with :class:`PluginWarning`; the CLI turns it off and prints the
#: problems itself, one line each.
warn_on_problems = True


_state: Loaded | None = None
_loading = False
_lock = threading.RLock()


def _loaded() -> Loaded:
    global _state, _loading
    with _lock:
        if _state is not None:
            return _state
        if _loading:
            raise RuntimeError("a plugin used the galaxyzoo registry while plugins were loading")
        _loading = True
        try:
            state = load_plugins()
        finally:
            _loading = False
        problems = tuple(p for record in state.records for p in record.problems)
        if problems and env_flag(STRICT_ENV):
            listing = "\n".join(f"  - {p}" for p in problems)
            first = next((p.exception for p in problems if p.exception is not None), None)
            raise PluginError(f"{len(problems)} plugin problem(s) ({STRICT_ENV}=1):\n{listing}", problems) from first
        _state = state
        if problems and warn_on_problems:
            listing = "\n".join(f"  - {p}" for p in problems)
            warnings.warn(f"{len(problems)} galaxyzoo plugin problem(s); the rest of the plugins work "
                          f"(see galaxyzoo.plugins() or `galaxyzoo plugins`):\n{listing}",
                          PluginWarning, stacklevel=4)
        return state


def reset() -> None:
    """Forget loaded plugins; the next call loads them again (tests, or after installing one)."""
    global _state
    with _lock:
        _state = None


def is_loaded() -> bool:
    """Whether plugins have been loaded in this process (commands that never needed them don't)."""
    return _state is not None


def plugins() -> tuple[PluginRecord, ...]:
    """Every entry point in the ``galaxyzoo`` group, in load order, with status and problems."""
    return _loaded().records


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise UserError(f"kind must be one of {KINDS}, got {kind!r}")


def list_entries(kind: str, pattern: str = "*") -> list[Entry]:
    """Registered entries of one kind whose listed name matches ``pattern``, sorted by name."""
    _check_kind(kind)
    pattern = pattern.lower()
    found = [
        e for e in _loaded().entries
        if e.kind == kind and fnmatch.fnmatchcase(e.listed_name.lower(), pattern)
    ]
    return sorted(found, key=lambda e: e.listed_name)


def _find(kind: str, name: str) -> Entry:
    _check_kind(kind)
    state = _loaded()
    dist, sep, short = name.rpartition(":")
    for entry in state.entries:
        if entry.kind != kind or entry.name != short:
            continue
        if (not sep and not entry.shadowed) or (sep and normalize_dist(entry.dist) == normalize_dist(dist)):
            return entry
    if not sep:  # a former name, kept as an alias by the spec that replaced it
        for entry in state.entries:
            if entry.kind == kind and not entry.shadowed and short in getattr(entry.spec, "aliases", ()):
                return entry
    # Compare plain names; suggest in the form asked for (qualified for a qualified query).
    known = {e.name.lower() if sep else e.listed_name.lower(): e for e in state.entries if e.kind == kind}
    query = short.lower() if sep else name.lower()
    close = [k for k in known if query in k] + difflib.get_close_matches(query, list(known), n=3, cutoff=0.5)
    suggestions = [known[k].qualified_name if sep else known[k].listed_name for k in dict.fromkeys(close)][:3]
    broken = sum(record.status == "failed" for record in state.records)
    raise UnknownNameError(kind, name, suggestions, broken)


def find_entry(kind: str, name: str) -> Entry:
    """The registered entry (spec, distribution, entry point) for ``name``, plain or ``dist:name``."""
    return _find(kind, name)


def get_spec(kind: str, name: str) -> Any:
    """The spec registered as ``name`` (plain or ``dist:name``) for kind model/dataset/metric/recipe."""
    return _find(kind, name).spec


def _resolve(entry: Entry, builder: Any) -> Callable[..., Any]:
    try:
        return resolve_builder(builder)
    except (ImportError, AttributeError, ValueError) as exc:
        raise PluginError(
            f"{entry.kind} {entry.name!r} from {entry.dist} [{entry.entry_point}]: "
            f"cannot load its builder {builder!r}: {type(exc).__name__}: {exc}"
        ) from exc


def list_models(pattern: str = "*") -> list[str]:
    """Sorted names of registered models matching the wildcard ``pattern``."""
    return [e.listed_name for e in list_entries("model", pattern)]


def list_datasets(pattern: str = "*") -> list[str]:
    """Sorted names of registered datasets matching the wildcard ``pattern``."""
    return [e.listed_name for e in list_entries("dataset", pattern)]


def list_metrics(pattern: str = "*") -> list[str]:
    """Sorted names of registered metrics matching the wildcard ``pattern``."""
    return [e.listed_name for e in list_entries("metric", pattern)]


def list_recipes(pattern: str = "*") -> list[str]:
    """Sorted names of registered recipes matching the wildcard ``pattern``."""
    return [e.listed_name for e in list_entries("recipe", pattern)]


def create_model(
    name: str, num_outputs: int, in_chans: int | None = None, input_size: int | None = None, **options: Any
) -> Any:
    """Build a model; ``in_chans``/``input_size`` default to the spec's, ``options`` override its defaults.

    Every model also takes ``head="tree"`` (and ``head_activation``): the GZ2 decision-tree
    output layer of :mod:`galaxyzoo.gz2.heads`, put on top of the built network.
    """
    from .gz2 import heads

    if not isinstance(num_outputs, int) or num_outputs < 1:
        raise UserError(f"num_outputs must be a positive integer, got {num_outputs!r}")
    entry = _find("model", name)
    spec: ModelSpec = entry.spec
    build = _resolve(entry, spec.builder)
    options = {**spec.defaults, **options}
    head, activation = options.pop("head", None), options.pop("head_activation", "softplus")
    model = build(
        num_outputs=num_outputs,
        in_chans=spec.in_chans if in_chans is None else in_chans,
        input_size=spec.input_size if input_size is None else input_size,
        **options,
    )
    return heads.wrap(model, head, num_outputs, activation)


def create_dataset(name: str, split: str = "train", root: Any = None, **options: Any) -> Any:
    """Open a dataset split (a :class:`galaxyzoo.data.base.GalaxyDataset`); ``options`` override defaults."""
    entry = _find("dataset", name)
    spec: DatasetSpec = entry.spec
    if spec.splits and split not in spec.splits:
        raise UserError(f"dataset {spec.name!r} has splits {spec.splits}, not {split!r}")
    build = _resolve(entry, spec.builder)
    return build(split=split, root=root, **{**spec.defaults, **options})


def create_metric(name: str) -> Callable[..., Any]:
    """The metric function ``fn(y_true, y_pred, task)``."""
    entry = _find("metric", name)
    spec: MetricSpec = entry.spec
    return _resolve(entry, spec.fn)


def get_recipe(name: str) -> RecipeSpec:
    """The recipe registered as ``name``."""
    return get_spec("recipe", name)
