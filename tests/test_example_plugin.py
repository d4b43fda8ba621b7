"""The example third-party distribution, pip-installed into this environment, seen through the
CLI exactly as a user would see any plugin from PyPI."""
from __future__ import annotations

import importlib.metadata
import json

import pytest

import galaxyzoo
from galaxyzoo.testing import check_dataset, check_metric, check_model, check_recipe

CONTRIBUTIONS = {"model": ["example_tinycnn"], "dataset": ["example_rings"], "metric": ["example_macro_f1"],
                 "recipe": ["example_rings_tinycnn"]}


def test_installed_as_its_own_distribution(example_plugin):
    dist = importlib.metadata.distribution(example_plugin)
    assert dist.version == "0.1.0"
    (ep,) = [ep for ep in dist.entry_points if ep.group == "galaxyzoo"]
    assert (ep.name, ep.value) == ("example", "galaxyzoo_example.plugin")


def test_listed_through_the_cli(example_plugin, run_cli):
    records = json.loads(run_cli("plugins", "--json").stdout)
    (record,) = [r for r in records if r["dist"] == example_plugin]
    assert record["status"] == "ok" and record["version"] == "0.1.0"
    assert record["contributions"] == CONTRIBUTIONS
    for kind, (name,) in CONTRIBUTIONS.items():
        done = run_cli("list", f"{kind}s", "example_*")
        assert done.returncode == 0, done.stderr
        (row,) = done.stdout.splitlines()[1:]
        assert row.split()[0] == name and example_plugin in row.split()
    text = run_cli("plugins").stdout
    assert ("1 model (example_tinycnn); 1 dataset (example_rings); 1 metric (example_macro_f1); "
            "1 recipe (example_rings_tinycnn)") in text


def test_disabled_by_name(example_plugin, run_cli):
    done = run_cli("list", "models", env={"GALAXYZOO_DISABLE_PLUGINS": example_plugin})
    rows = done.stdout.splitlines()[1:]
    assert done.returncode == 0 and rows  # the built-ins stay
    assert not [row for row in rows if example_plugin in row or "example_tinycnn" in row]
    records = json.loads(run_cli("plugins", "--json", env={"GALAXYZOO_DISABLE_PLUGINS": "all"}).stdout)
    assert {r["status"] for r in records if r["dist"] == example_plugin} == {"disabled"}


@pytest.mark.parametrize("kind, check", [("model", check_model), ("dataset", check_dataset), ("metric", check_metric),
                                         ("recipe", check_recipe)])
def test_passes_the_check_kit(example_plugin, clean_registry, kind, check):
    (name,) = CONTRIBUTIONS[kind]
    result = check(galaxyzoo.get_spec(kind, name))
    assert result.checks and not result.skipped


def test_trained_and_evaluated_through_the_cli(example_plugin, run_cli, tmp_path):
    data = ["--dataset-opt", "n=256"]
    done = run_cli("train", "--model", "example_tinycnn", "--dataset", "example_rings", "--epochs", "2",
                   "--size", "32", "--batch-size", "16", "--lr", "1e-2", "--seed", "0", "--workers", "0",
                   "--metrics", "accuracy,example_macro_f1", "--quiet", "--out", str(tmp_path / "run"), *data,
                   timeout=300)
    assert done.returncode == 0, done.stderr
    history = json.loads((tmp_path / "run" / "metrics.json").read_text())["epochs"]
    assert [e["epoch"] for e in history] == [1, 2]
    assert all(0 <= e["val_example_macro_f1"] <= 1 for e in history)

    done = run_cli("evaluate", str(tmp_path / "run"), "--split", "test", "--json", "--workers", "0", "--quiet",
                   "--metrics", "accuracy,example_macro_f1", *data, timeout=300)
    assert done.returncode == 0, done.stderr
    scores = json.loads(done.stdout)
    # Two balanced classes: 0.5 is chance; this setup reaches ~0.9 on validation.
    assert scores["accuracy"] > 0.75 and scores["example_macro_f1"] > 0.7, scores


def test_trained_from_its_recipe(example_plugin, run_cli, tmp_path):
    done = run_cli("train", "--recipe", "example_rings_tinycnn", "--epochs", "1", "--dataset-opt", "n=64",
                   "--workers", "0", "--quiet", "--out", str(tmp_path / "run"), timeout=300)
    assert done.returncode == 0, done.stderr
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["preprocess"] == {"mode": None} and config["metrics"] == ["accuracy", "example_macro_f1"]
