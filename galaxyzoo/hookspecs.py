"""The plugin contract: every hook a galaxyzoo plugin may implement.

A plugin is a module registered under the entry-point group ``galaxyzoo``::

    [project.entry-points.galaxyzoo]
    my_plugin = "my_package.galaxyzoo_plugin"

and implements any of the hooks below with ``@galaxyzoo.hookimpl``. Each hook takes no
arguments and returns a list of spec objects (:mod:`galaxyzoo.specs`). Builders inside the
specs are imported lazily, so registering is cheap.
"""
from __future__ import annotations

import pluggy

from .specs import DatasetSpec, MetricSpec, ModelSpec, RecipeSpec

__all__ = [
    "PROJECT",
    "galaxyzoo_datasets",
    "galaxyzoo_metrics",
    "galaxyzoo_models",
    "galaxyzoo_recipes",
    "hookimpl",
    "hookspec",
]

PROJECT = "galaxyzoo"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def galaxyzoo_models() -> list[ModelSpec]:
    """Return the model architectures this plugin provides."""


@hookspec
def galaxyzoo_datasets() -> list[DatasetSpec]:
    """Return the dataset readers this plugin provides."""


@hookspec
def galaxyzoo_metrics() -> list[MetricSpec]:
    """Return the metrics this plugin provides."""


@hookspec
def galaxyzoo_recipes() -> list[RecipeSpec]:
    """Return the recipes (reproducible training setups) this plugin provides."""
