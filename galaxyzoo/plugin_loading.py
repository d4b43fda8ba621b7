"""Load the plugins registered under the ``galaxyzoo`` entry-point group, one at a time.

pluggy's ``load_setuptools_entrypoints`` stops at the first plugin that fails to import, drops a
second entry point of the same name without a word, and one plugin implementing a hook we do
not know makes ``check_pending`` fail for everyone. So loading happens here: built-ins first, each entry point in its own try block, each hook
implementation called on its own, every spec type-checked and attributed to its distribution,
name clashes settled first-come-first-served. A plugin's fault never raises here; it becomes a
:class:`Problem` on that plugin's :class:`PluginRecord`.
"""
from __future__ import annotations

import difflib
import importlib.metadata as metadata
import os
import re
import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import pluggy

from . import hookspecs
from .specs import DatasetSpec, MetricSpec, ModelSpec, RecipeSpec

GROUP = "galaxyzoo"
CORE_DIST = "galaxyzoo"
DISABLE_ENV = "GALAXYZOO_DISABLE_PLUGINS"
TRACE_ENV = "GALAXYZOO_TRACE_PLUGINS"

KINDS = ("model", "dataset", "metric", "recipe")
SPEC_TYPES: Mapping[str, type] = {
    "model": ModelSpec,
    "dataset": DatasetSpec,
    "metric": MetricSpec,
    "recipe": RecipeSpec,
}
# Every hook declared in hookspecs.py, and the kind of spec it returns.
HOOK_KINDS: Mapping[str, str] = {
    "galaxyzoo_models": "model",
    "galaxyzoo_datasets": "dataset",
    "galaxyzoo_metrics": "metric",
    "galaxyzoo_recipes": "recipe",
}


@dataclass(frozen=True)
class Problem:
    """Something wrong with one plugin: which distribution and entry point, what, and the error."""

    dist: str
    entry_point: str
    what: str
    error: str
    exception: BaseException | None = field(default=None, repr=False, compare=False)

    def __str__(self) -> str:
        return f"{self.dist} [{self.entry_point}]: {self.what}: {self.error}"

    def as_dict(self) -> dict[str, str]:
        return {"dist": self.dist, "entry_point": self.entry_point, "what": self.what, "error": self.error}


@dataclass(frozen=True)
class PluginRecord:
    """One entry point and what became of it.

    ``status``: ``ok``; ``problems`` (loaded, but something it offered was refused);
    ``failed`` (nothing loaded); ``disabled`` (skipped by ``GALAXYZOO_DISABLE_PLUGINS``).
    ``contributions`` maps a kind (``model`` …) to the names this plugin added.
    """

    dist: str
    version: str
    entry_point: str
    value: str
    status: str
    contributions: Mapping[str, tuple[str, ...]]
    problems: tuple[Problem, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "dist": self.dist,
            "version": self.version,
            "entry_point": self.entry_point,
            "value": self.value,
            "status": self.status,
            "contributions": {kind: list(names) for kind, names in self.contributions.items()},
            "problems": [p.as_dict() for p in self.problems],
        }


@dataclass(frozen=True)
class Entry:
    """A registered spec and where it came from.

    ``shadowed`` entries lost a name clash to an earlier plugin and are reachable only by
    ``qualified_name`` (``dist:name``).
    """

    kind: str
    spec: Any
    dist: str
    entry_point: str
    shadowed: bool = False

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def qualified_name(self) -> str:
        return f"{self.dist}:{self.spec.name}"

    @property
    def listed_name(self) -> str:
        return self.qualified_name if self.shadowed else self.name


@dataclass
class Loaded:
    """The result of one loading pass: records in load order and every accepted entry."""

    records: tuple[PluginRecord, ...]
    entries: tuple[Entry, ...]


def normalize_dist(name: str) -> str:
    """PEP 503 normalisation, so ``Foo_Bar`` and ``foo-bar`` name the same distribution."""
    return re.sub(r"[-_.]+", "-", name).lower()


def env_flag(name: str, environ: Mapping[str, str] = os.environ) -> bool:
    return environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _disabled(ep_name: str, dist: str, environ: Mapping[str, str]) -> bool:
    """Named by GALAXYZOO_DISABLE_PLUGINS; an ``all`` (or ``1``) item means every third-party plugin."""
    wanted = {normalize_dist(v.strip()) for v in environ.get(DISABLE_ENV, "").split(",") if v.strip()}
    if wanted & {"1", "all", "true", "yes", "on"} and normalize_dist(dist) != CORE_DIST:
        return True
    return normalize_dist(ep_name) in wanted or normalize_dist(dist) in wanted


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _load_order(ep: metadata.EntryPoint) -> tuple[bool, str, str]:
    dist = normalize_dist(ep.dist.name) if ep.dist else ""
    return (dist != CORE_DIST, dist, ep.name)


Report = Callable[..., None]  # report(what, error, exception=None): record a Problem


class _Loader:
    def __init__(self, environ: Mapping[str, str]):
        self.environ = environ
        self.trace = env_flag(TRACE_ENV, environ)
        self.manager = pluggy.PluginManager(hookspecs.PROJECT)
        self.manager.add_hookspecs(hookspecs)
        self.records: list[PluginRecord] = []
        self.entries: list[Entry] = []
        self.winners: dict[str, dict[str, Entry]] = {kind: {} for kind in KINDS}  # kind -> name -> entry
        self.qualified: set[tuple[str, str, str]] = set()  # (kind, normalised dist, name) taken

    def log(self, message: str) -> None:
        if self.trace:
            print(f"galaxyzoo plugins: {message}", file=sys.stderr)

    def run(self) -> Loaded:
        for ep in sorted(metadata.entry_points(group=GROUP), key=_load_order):
            self.load(ep)
        return Loaded(tuple(self.records), tuple(self.entries))

    def load(self, ep: metadata.EntryPoint) -> None:
        """Import, register and query one entry point; append its record."""
        dist = ep.dist.name if ep.dist else "<unknown>"
        problems: list[Problem] = []
        contributions: dict[str, list[str]] = {}

        def report(what: str, error: str, exc: BaseException | None = None) -> None:
            problems.append(Problem(dist, ep.name, what, error, exc))
            if exc is not None and self.trace:
                traceback.print_exception(exc, file=sys.stderr)

        if _disabled(ep.name, dist, self.environ):
            status = "disabled"
        else:
            plugin = self.register(ep, dist, report)
            if plugin is None:
                status = "failed"
            else:
                self.collect(plugin, ep, dist, report, contributions)
                status = "problems" if problems else "ok"
        names = {kind: tuple(contributions[kind]) for kind in KINDS if contributions.get(kind)}
        version = ep.dist.version if ep.dist else ""
        self.records.append(PluginRecord(dist, version, ep.name, ep.value, status, names, tuple(problems)))
        self.log(f"{dist} [{ep.name}] {status}" + "".join(f"\n  {p}" for p in problems))

    def register(self, ep: metadata.EntryPoint, dist: str, report: Report) -> Any:
        """The imported, registered plugin object, or None (with the reason reported)."""
        self.log(f"loading {dist} [{ep.name}] = {ep.value}")
        start = time.perf_counter()
        # A plugin calling sys.exit() at import must not take the whole program down.
        try:
            plugin = ep.load()
        except (Exception, SystemExit) as exc:
            report("import failed", _error_text(exc), exc)
            return None
        self.log(f"imported {ep.value} in {1e3 * (time.perf_counter() - start):.1f} ms")
        other = self.manager.get_name(plugin)
        if other is not None:
            report("duplicate entry point", f"{ep.value} is already registered as {other}")
            return None
        try:
            self.manager.register(plugin, name=f"{dist}:{ep.name}")
        except Exception as exc:
            # pluggy < 1.6 could leave some hook implementations behind after a failed check.
            if self.manager.is_registered(plugin):
                self.manager.unregister(plugin)
            report("rejected by the hook contract", _error_text(exc), exc)
            return None
        return plugin

    def collect(self, plugin: Any, ep: metadata.EntryPoint, dist: str, report: Report,
                contributions: dict[str, list[str]]) -> None:
        """Call each of the plugin's hook implementations on its own and keep what is valid."""
        impls = [
            (caller.name, impl)
            for caller in self.manager.get_hookcallers(plugin) or []
            for impl in caller.get_hookimpls()
            if impl.plugin is plugin
        ]
        if not impls:
            report("no hooks", "it has no @galaxyzoo.hookimpl function, so it adds nothing")
        for hook_name, impl in impls:
            if hook_name not in HOOK_KINDS:
                if not impl.optionalhook:
                    report(f"unknown hook {hook_name}", _unknown_hook_hint(hook_name))
                continue
            kind = HOOK_KINDS[hook_name]
            for spec in self.call(impl.function, hook_name, kind, report):
                if self.add(Entry(kind, spec, dist, ep.name), report):
                    contributions.setdefault(kind, []).append(spec.name)

    def call(self, function: Callable[[], Any], hook_name: str, kind: str, report: Report) -> list[Any]:
        """Call one hook implementation; return the valid specs it gave."""
        try:
            result = function()
        except Exception as exc:
            report(f"hook {hook_name} raised", _error_text(exc), exc)
            return []
        expected = SPEC_TYPES[kind].__name__
        if not isinstance(result, (list, tuple)):
            report(f"hook {hook_name} returned {type(result).__name__}", f"expected a list of {expected}")
            return []
        valid = []
        for item in result:
            if isinstance(item, SPEC_TYPES[kind]):
                valid.append(item)
            else:
                report(f"hook {hook_name} returned a {type(item).__name__}", f"expected {expected}, got {item!r}")
        return valid

    def add(self, entry: Entry, report: Report) -> bool:
        """First come, first served: a later plugin's clashing name stays reachable as dist:name."""
        key = (entry.kind, normalize_dist(entry.dist), entry.name)
        if key in self.qualified:
            report(f"duplicate {entry.kind} {entry.name!r}", "this distribution already provides it; ignored")
            return False
        winner = self.winners[entry.kind].get(entry.name)
        if winner is not None:
            entry = Entry(entry.kind, entry.spec, entry.dist, entry.entry_point, shadowed=True)
            report(
                f"duplicate {entry.kind} {entry.name!r}",
                f"already provided by {winner.dist} [{winner.entry_point}]; "
                f"this one is available as {entry.qualified_name!r}",
            )
        else:
            self.winners[entry.kind][entry.name] = entry
        self.qualified.add(key)
        self.entries.append(entry)
        return True


def _unknown_hook_hint(hook_name: str) -> str:
    close = difflib.get_close_matches(hook_name, list(HOOK_KINDS), n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    version = metadata.version(CORE_DIST)
    return (
        f"galaxyzoo {version} does not define this hook{hint}; it was not called. "
        "Upgrade galaxyzoo or pin the plugin to a version made for this one"
    )


def load_plugins(environ: Mapping[str, str] = os.environ) -> Loaded:
    """Discover, import and query every plugin once; never raises for a plugin's fault."""
    return _Loader(environ).run()
