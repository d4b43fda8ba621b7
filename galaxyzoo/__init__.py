"""galaxyzoo: a plugin-based model zoo for galaxy-morphology classification."""
from __future__ import annotations

from .errors import GalaxyzooError, PluginError, UnknownNameError, UserError
from .hookspecs import hookimpl
from .registry import (
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
    "RecipeSpec",
    "Task",
    "UnknownNameError",
    "UserError",
    "create_dataset",
    "create_metric",
    "create_model",
    "get_recipe",
    "get_spec",
    "hookimpl",
    "list_datasets",
    "list_entries",
    "list_metrics",
    "list_models",
    "list_recipes",
    "plugins",
]
