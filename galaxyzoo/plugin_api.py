"""Everything plugin code may import, in one place (docs/plugins.md describes each name).

A plugin imports from here, or from one of :data:`PUBLIC_MODULES` a name listed in that
module's ``__all__``; anything else in galaxyzoo is internal and may change without notice.
``tests/test_plugin_docs.py`` holds the built-in plugins to the same rule.

Importing this module does not import torch.
"""
from __future__ import annotations

import os
from pathlib import Path

from .data.base import GalaxyDataset
from .data.decode import load_batch, read_header, read_image, verify_images
from .data.catalogs import Catalog, ImageIndex, read_catalog
from .data.inputs import outside, outside_error
from .data.problems import InputProblem
from .errors import (
    ContractError,
    DatasetNotFoundError,
    DecodeError,
    GalaxyzooError,
    InputNotFoundError,
    PluginError,
    UserError,
)
from .hookspecs import hookimpl
from .specs import (
    AUGMENT_KEYS,
    LOSSES,
    OPTIMIZERS,
    PREPROCESS_KEYS,
    SCHEDULES,
    TASK_KINDS,
    DatasetSpec,
    MetricSpec,
    ModelSpec,
    RecipeSpec,
    Task,
)

#: The modules plugin code may import from: each lists its public names in ``__all__``; no
#: other galaxyzoo module has an ``__all__``, and every other module is internal.
PUBLIC_MODULES: tuple[str, ...] = (
    "galaxyzoo",
    "galaxyzoo.plugin_api",
    "galaxyzoo.specs",
    "galaxyzoo.hookspecs",
    "galaxyzoo.errors",
    "galaxyzoo.testing",
    "galaxyzoo.ops",
    "galaxyzoo.atomic",
    "galaxyzoo.data.base",
    "galaxyzoo.data.decode",
    "galaxyzoo.data.problems",
    "galaxyzoo.data.synthetic",
    "galaxyzoo.gz2.tree",
)

#: Environment variable naming the folder that holds every dataset's folder.
DATA_ENV = "GALAXYZOO_DATA"


def dataset_root(root: str | os.PathLike | None, name: str) -> Path:
    """Where a dataset builder finds its files: ``root`` when given (``--root``), else
    ``$GALAXYZOO_DATA/<name>`` when that variable is set, else ``./data/<name>``.

    galaxyzoo passes ``root=None`` to a builder when the user gave no ``--root``; builders
    call this, so every dataset looks in the same places the built-in ones do.
    """
    if root is not None:
        return Path(root).expanduser()
    return Path(os.environ.get(DATA_ENV, "data")).expanduser() / name


__all__ = [
    "AUGMENT_KEYS",
    "Catalog",
    "ContractError",
    "DATA_ENV",
    "DatasetNotFoundError",
    "DatasetSpec",
    "DecodeError",
    "GalaxyDataset",
    "GalaxyzooError",
    "ImageIndex",
    "InputNotFoundError",
    "InputProblem",
    "LOSSES",
    "MetricSpec",
    "ModelSpec",
    "OPTIMIZERS",
    "PREPROCESS_KEYS",
    "PUBLIC_MODULES",
    "PluginError",
    "RecipeSpec",
    "SCHEDULES",
    "TASK_KINDS",
    "Task",
    "UserError",
    "dataset_root",
    "hookimpl",
    "load_batch",
    "outside",
    "outside_error",
    "read_catalog",
    "read_header",
    "read_image",
    "verify_images",
]
