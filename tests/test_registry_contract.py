"""Every registered model, dataset and metric honours the plugin contract (galaxyzoo.testing)."""
from __future__ import annotations

from pathlib import Path

import pytest

import galaxyzoo
from galaxyzoo.testing import check_dataset, check_metric, check_model


# Real data the checkout may have beside it (CI does); other datasets skip when absent.
LOCAL_ROOTS = {"gz2_sample": Path(__file__).resolve().parents[2] / "shared" / "data" / "gz2_sample"}


def names(kind: str) -> list[str]:
    return [e.listed_name for e in galaxyzoo.list_entries(kind)]


@pytest.mark.parametrize("name", names("model"))
def test_model_contract(name):
    result = check_model(galaxyzoo.get_spec("model", name))
    assert "gradient to every parameter" in result.checks


@pytest.mark.parametrize("name", names("dataset"))
def test_dataset_contract(name):
    root = LOCAL_ROOTS.get(name)
    result = check_dataset(galaxyzoo.get_spec("dataset", name), root=root if root and root.exists() else None)
    if result.skipped:
        pytest.skip(f"data not available: {result.skipped.splitlines()[0]}")
    assert "targets" in result.checks


@pytest.mark.parametrize("name", names("metric"))
def test_metric_contract(name):
    assert check_metric(galaxyzoo.get_spec("metric", name)).checks


@pytest.mark.parametrize("name", names("recipe"))
def test_recipe_refers_to_registered_parts(name):
    recipe = galaxyzoo.get_recipe(name)
    model = galaxyzoo.get_spec("model", recipe.model)
    dataset = galaxyzoo.get_spec("dataset", recipe.dataset)
    if dataset.task is None:  # generic reader: the task comes from the user's catalog
        return
    assert dataset.task.kind in model.tasks, f"{recipe.model} cannot do {dataset.task.kind}"
    for metric in recipe.metrics:
        assert dataset.task.kind in galaxyzoo.get_spec("metric", metric).tasks
