"""Every registered recipe trains one epoch: its model, loss, optimiser and preprocessing on
tiny synthetic data of its task (the recipes' own datasets are mostly not available here)."""
from __future__ import annotations

import math

import pytest

import galaxyzoo
from galaxyzoo.gz2 import tree as gz2_tree
from galaxyzoo.workflows.checkpoint import load_model
from galaxyzoo.gz2.heads import outputs_fractions
from galaxyzoo.workflows.train import train
from galaxyzoo.workflows.train_config import TrainConfig

RECIPES = galaxyzoo.list_recipes()


def _synthetic_for(recipe) -> str:
    task = galaxyzoo.get_spec("dataset", recipe.dataset).task
    votes = task.kind == "vote_fractions" if task is not None else "rmse" in recipe.metrics
    return "synthetic_votes" if votes else "synthetic"


@pytest.mark.parametrize("name", RECIPES)
def test_recipe_trains_one_epoch_on_tiny_synthetic_data(name, tmp_path):
    recipe = galaxyzoo.get_recipe(name)
    assert recipe.reference and recipe.reported or name == "default", f"{name}: fill reference and reported"
    config = TrainConfig.from_recipe(recipe, epochs=1, batch_size=4, limit_val=4)
    config.dataset = _synthetic_for(recipe)
    config.dataset_options = {"num_samples": 12, "image_size": 96}
    result = train(config, tmp_path / name, workers=0, progress=False)

    record = result.history[0]
    assert math.isfinite(record["train_loss"]) and math.isfinite(record["val_loss"])
    assert math.isfinite(result.best_value)
    model, meta, _ = load_model(result.best)
    assert meta["recipe"] == name and meta["preprocessing"]["size"] == recipe.input_size
    if recipe.model_options.get("head") == "tree":
        assert outputs_fractions(model)
        assert config.dataset == "synthetic_votes" and gz2_tree.NUM_COLUMNS == meta["num_outputs"]
