"""galaxyzoo: a plugin-based model zoo for galaxy-morphology classification."""
from __future__ import annotations

from .hookspecs import hookimpl
from .registry import (
    PluginError,
    UnknownNameError,
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
    "MetricSpec",
    "ModelSpec",
    "PluginError",
    "RecipeSpec",
    "Task",
    "UnknownNameError",
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
