"""galaxyzoo: a plugin-based model zoo for galaxy-morphology classification.

Plugin authors: import from :mod:`galaxyzoo.plugin_api` (docs/plugins.md); modules without an
``__all__`` are internal."""
from __future__ import annotations

from .api import evaluate, ingest, predict, train  # imports nothing heavy until called
from .errors import GalaxyzooError, PluginError, UnknownNameError, UserError
from .hookspecs import hookimpl
from .registry import (
    PluginWarning,
    create_dataset,
    create_metric,
    create_model,
    get_recipe,
    get_spec,
    list_datasets,
    list_entries,
    list_metrics,
    list_models,
    list_recipes,
    plugins,
)
from .specs import DatasetSpec, MetricSpec, ModelSpec, RecipeSpec, Task

__version__ = "0.1.0"

__all__ = [
    "DatasetSpec",
    "GalaxyzooError",
    "MetricSpec",
    "ModelSpec",
    "PluginError",
    "PluginWarning",
    "RecipeSpec",
    "Task",
    "UnknownNameError",
    "UserError",
    "create_dataset",
    "create_metric",
    "create_model",
    "evaluate",
    "get_recipe",
    "get_spec",
    "hookimpl",
    "ingest",
    "list_datasets",
    "list_entries",
    "list_metrics",
    "list_models",
    "list_recipes",
    "plugins",
    "predict",
    "train",
]
