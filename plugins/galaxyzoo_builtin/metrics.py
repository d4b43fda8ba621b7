"""Built-in metrics, registered through the `galaxyzoo` entry-point group."""
from __future__ import annotations

from galaxyzoo import hookimpl


@hookimpl
def galaxyzoo_metrics():
    return []
