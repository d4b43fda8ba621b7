"""The registry API: discovery through entry points, lookup, wildcards, builders, caching."""
from __future__ import annotations

import subprocess
import sys

import pytest

import galaxyzoo
from galaxyzoo import registry

SPECS = """
    from galaxyzoo import DatasetSpec, MetricSpec, ModelSpec, RecipeSpec, Task, hookimpl

    def build_model(**kwargs):
        return ("model", kwargs)

    def build_dataset(**kwargs):
        return ("dataset", kwargs)

    def score(y_true, y_pred, task):
        return 0.5

    @hookimpl
    def galaxyzoo_models():
        return [
            ModelSpec(name="fake_alpha", summary="a", builder=build_model, input_size=48, in_chans=1,
                      defaults={"width": 8, "depth": 2}),
            ModelSpec(name="fake_beta", summary="b", builder="fake_models:build_model"),
            ModelSpec(name="fake_lazy", summary="c", builder="fake_missing_module:build"),
        ]

    @hookimpl
    def galaxyzoo_datasets():
        return [DatasetSpec(name="fake_data", summary="d", builder=build_dataset,
                            task=Task("classification", ("x", "y")), splits=("train", "test"),
                            defaults={"n": 10})]

    @hookimpl
    def galaxyzoo_metrics():
        return [MetricSpec(name="fake_score", summary="s", fn="fake_models:score")]

    @hookimpl
    def galaxyzoo_recipes():
        return [RecipeSpec(name="fake_recipe", summary="r", dataset="fake_data", model="fake_alpha",
                           input_size=48, epochs=1, batch_size=4)]
"""


@pytest.fixture
def fake(fake_site):
    fake_site.add("fake-models", {"fake_models": SPECS})
    return fake_site


def test_builtins_load_through_entry_points_first(clean_registry):
    records = galaxyzoo.plugins()
    core = [r for r in records if r.dist == "galaxyzoo"]
    assert {r.entry_point for r in core} >= {"builtin_models", "builtin_datasets", "builtin_metrics", "builtin_recipes"}
    assert records[: len(core)] == tuple(core)
    for r in core:
        assert r.value.startswith("galaxyzoo_builtin.") and r.status == "ok", r


def test_listing_and_patterns(fake):
    assert {"fake_alpha", "fake_beta", "fake_lazy"} <= set(galaxyzoo.list_models())
    assert galaxyzoo.list_models("fake_*") == ["fake_alpha", "fake_beta", "fake_lazy"]
    assert galaxyzoo.list_models("FAKE_?ETA") == ["fake_beta"]
    assert galaxyzoo.list_models("nothing*") == []
    assert galaxyzoo.list_datasets("fake*") == ["fake_data"]
    assert galaxyzoo.list_metrics("fake*") == ["fake_score"]
    assert galaxyzoo.list_recipes("fake*") == ["fake_recipe"]
    entry = galaxyzoo.list_entries("model", "fake_alpha")[0]
    assert (entry.dist, entry.entry_point, entry.qualified_name) == ("fake-models", "fake_models", "fake-models:fake_alpha")


def test_create_model_fills_sizes_and_merges_defaults(fake):
    kind, kwargs = galaxyzoo.create_model("fake_alpha", num_outputs=4)
    assert kind == "model"
    assert kwargs == {"num_outputs": 4, "in_chans": 1, "input_size": 48, "width": 8, "depth": 2}
    _, kwargs = galaxyzoo.create_model("fake_alpha", 2, in_chans=3, input_size=32, width=16)
    assert kwargs == {"num_outputs": 2, "in_chans": 3, "input_size": 32, "width": 16, "depth": 2}
    _, kwargs = galaxyzoo.create_model("fake_beta", 2)  # a "module:function" builder
    assert kwargs == {"num_outputs": 2, "in_chans": 3, "input_size": 64}
    with pytest.raises(ValueError, match="num_outputs"):
        galaxyzoo.create_model("fake_alpha", num_outputs=0)


def test_create_dataset_metric_and_recipe(fake):
    assert galaxyzoo.create_dataset("fake_data", split="test", n=3) == (
        "dataset", {"split": "test", "root": None, "n": 3})
    assert galaxyzoo.create_dataset("fake_data", root="/data")[1] == {"split": "train", "root": "/data", "n": 10}
    with pytest.raises(ValueError, match="splits"):
        galaxyzoo.create_dataset("fake_data", split="val")
    assert galaxyzoo.create_metric("fake_score")(None, None, None) == 0.5
    recipe = galaxyzoo.get_recipe("fake_recipe")
    assert (recipe.model, recipe.dataset) == ("fake_alpha", "fake_data")
    assert galaxyzoo.get_spec("dataset", "fake-models:fake_data").splits == ("train", "test")


def test_builder_import_failure_names_the_plugin(fake):
    # Listing never imports builders, so the broken one only fails when built.
    assert "fake_lazy" in galaxyzoo.list_models()
    with pytest.raises(galaxyzoo.PluginError, match=r"fake_lazy.*fake-models.*fake_missing_module"):
        galaxyzoo.create_model("fake_lazy", 2)


def test_unknown_names_suggest_close_ones(fake):
    with pytest.raises(galaxyzoo.UnknownNameError) as info:
        galaxyzoo.create_model("fake_alpah", 2)
    assert isinstance(info.value, KeyError)
    assert info.value.suggestions[0] == "fake_alpha"
    assert str(info.value).startswith("unknown model 'fake_alpah'; did you mean 'fake_alpha'")
    with pytest.raises(KeyError, match="did you mean 'fake_score'"):
        galaxyzoo.create_metric("fake_scor")
    with pytest.raises(KeyError, match="did you mean 'fake-models:fake_data'"):
        galaxyzoo.get_spec("dataset", "other-dist:fake_data")
    with pytest.raises(KeyError) as info:
        galaxyzoo.get_recipe("zzzzzz")
    assert "did you mean" not in str(info.value) and info.value.suggestions == []
    with pytest.raises(ValueError, match="kind must be one of"):
        galaxyzoo.get_spec("models", "fake_alpha")


def test_loaded_once_until_reset(fake, monkeypatch):
    first = galaxyzoo.plugins()
    assert galaxyzoo.plugins() is first
    monkeypatch.setenv("GALAXYZOO_DISABLE_PLUGINS", "fake-models")
    assert "fake_alpha" in galaxyzoo.list_models()  # cached: the switch applies after a reset
    registry.reset()
    assert "fake_alpha" not in galaxyzoo.list_models()
    assert galaxyzoo.plugins() is not first


def test_import_and_listing_load_no_plugin_or_model_code():
    code = (
        "import sys, galaxyzoo\n"
        "assert not [m for m in sys.modules if m.startswith(('galaxyzoo_builtin', 'torch'))], 'import'\n"
        "specs = [e.spec for e in galaxyzoo.list_entries('model')]\n"
        "assert 'galaxyzoo_builtin.models' in sys.modules\n"
        "lazy = [s.builder.partition(':')[0] for s in specs if isinstance(s.builder, str)]\n"
        "assert not [m for m in lazy if m in sys.modules], 'builders imported by listing'\n"
        "assert 'torch' not in sys.modules, 'listing imported torch'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_former_names_are_aliases_of_the_renamed_recipes_and_models():
    """Recipes and models are named for their source; the seed names still resolve."""
    assert galaxyzoo.get_recipe("seed002_cnn").name == "hildebrandt_votes_cnn"
    assert galaxyzoo.get_recipe("seed003_resnet").name == "serrano_votes_resnet50"
    assert galaxyzoo.get_spec("model", "seed002_cnn").name == "hildebrandt_cnn"
    listed = set(galaxyzoo.list_recipes())
    assert "seed002_cnn" not in listed and "hildebrandt_votes_cnn" in listed
    with pytest.raises(galaxyzoo.UnknownNameError):
        galaxyzoo.get_recipe("seed009_cnn")
