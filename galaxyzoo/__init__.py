"""galaxyzoo: a plugin-based model zoo for galaxy-morphology classification."""
from __future__ import annotations

from .hookspecs import hookimpl
from .specs import DatasetSpec, MetricSpec, ModelSpec, RecipeSpec, Task

__version__ = "0.1.0"

__all__ = [
    "DatasetSpec",
    "MetricSpec",
    "ModelSpec",
    "RecipeSpec",
    "Task",
    "hookimpl",
]
