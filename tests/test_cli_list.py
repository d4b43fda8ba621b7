"""`galaxyzoo list` and `galaxyzoo plugins`, run as a user would: in a subprocess."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

PLUGIN = """
from galaxyzoo import DatasetSpec, ModelSpec, RecipeSpec, Task, hookimpl

@hookimpl
def galaxyzoo_models():
    return [ModelSpec(name=n, summary=f"summary of {n}", builder="x:y", tasks=("classification",))
            for n in ("cli_alpha", "cli_beta")]

@hookimpl
def galaxyzoo_datasets():
    return [DatasetSpec(name="cli_data", summary="d", builder="x:y", task=Task("vote_fractions", ("a", "b")))]

@hookimpl
def galaxyzoo_recipes():
    return [RecipeSpec(name="cli_recipe", summary="r", dataset="cli_data", model="cli_alpha",
                       input_size=32, epochs=1, batch_size=2),
            RecipeSpec(name="cli_orphan", summary="r", dataset="no_such_data", model="cli_alpha",
                       input_size=32, epochs=1, batch_size=2)]
"""


@pytest.fixture
def site(fake_site):
    fake_site.add("cli-plugin", {"cli_plugin": PLUGIN}, version="2.5")
    return fake_site.path


def ok(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 0, done.stderr
    return done.stdout


def table(text: str) -> dict[str, list[str]]:
    """Rows of a printed table keyed by their first cell (columns split on 2+ spaces)."""
    lines = text.strip().splitlines()
    return {cells[0]: cells for cells in (re.split(r"\s{2,}", line.strip()) for line in lines[1:])}


def test_overview_counts_match_listings(run_cli, site):
    overview = run_cli("list", "--json", pythonpath=[site])
    assert overview.returncode == 0, overview.stderr
    summary = json.loads(overview.stdout)
    for kind in ("models", "datasets", "metrics", "recipes"):
        listed = json.loads(run_cli("list", kind, "--json", pythonpath=[site]).stdout)
        assert summary["counts"][kind] == len(listed)
    assert summary["plugins"]["ok"] >= 1 and summary["problems"] == []

    text = run_cli("list", pythonpath=[site])
    rows = table(ok(text).split("\n\n")[0])
    assert rows["models"][1] == str(summary["counts"]["models"])
    assert "cli_alpha, cli_beta" in rows["models"][2]
    assert "entry points from" in text.stdout and "galaxyzoo plugins" in text.stdout


def test_kind_table_has_name_task_source_summary(run_cli, site):
    done = run_cli("list", "models", pythonpath=[site])
    assert done.returncode == 0 and done.stderr == ""
    header = done.stdout.splitlines()[0].split()
    assert header == ["NAME", "TASK", "SOURCE", "SUMMARY"]
    assert table(done.stdout)["cli_alpha"] == ["cli_alpha", "classification", "cli-plugin", "summary of cli_alpha"]
    for entry in json.loads(run_cli("list", "models", "--json", pythonpath=[site]).stdout):
        assert table(done.stdout)[entry["name"]][2] == entry["source"]

    recipes = table(ok(run_cli("list", "recipes", "cli_*", pythonpath=[site])))
    assert recipes["cli_recipe"][1] == "vote_fractions (2)"
    assert recipes["cli_orphan"][1] == "? (no dataset 'no_such_data')"


def test_patterns_singular_kinds_and_json(run_cli, site):
    assert list(table(ok(run_cli("list", "model", "CLI_A*", pythonpath=[site])))) == ["cli_alpha"]
    (entry,) = json.loads(run_cli("list", "datasets", "cli_*", "--json", pythonpath=[site]).stdout)
    assert entry["qualified_name"] == "cli-plugin:cli_data" and entry["task"] == "vote_fractions (2)"
    assert entry["spec"]["task"] == {"kind": "vote_fractions", "outputs": ["a", "b"]}

    none = run_cli("list", "models", "zzz*", pythonpath=[site])
    assert none.returncode == 1 and none.stdout == "" and "no models match 'zzz*'" in none.stderr
    empty = run_cli("list", "models", env={"GALAXYZOO_DISABLE_PLUGINS": "all,builtin_models"},
                    pythonpath=[site])
    assert empty.returncode == 0 and "no models are registered" in empty.stderr
    bad = run_cli("list", "widgets")
    assert bad.returncode == 2 and "unknown kind 'widgets'" in bad.stderr


def test_plugins_table_and_json(run_cli, site):
    done = run_cli("plugins", pythonpath=[site])
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.splitlines()[0].split() == ["DISTRIBUTION", "VERSION", "ENTRY", "POINT", "STATUS", "PROVIDES"]
    row = table(done.stdout)["cli-plugin"]
    assert row[:4] == ["cli-plugin", "2.5", "cli_plugin", "ok"]
    assert row[4] == "2 models (cli_alpha, cli_beta); 1 dataset (cli_data); 2 recipes (cli_recipe, cli_orphan)"

    records = {r["entry_point"]: r for r in json.loads(run_cli("plugins", "--json", pythonpath=[site]).stdout)}
    assert records["cli_plugin"]["contributions"]["model"] == ["cli_alpha", "cli_beta"]
    assert {"builtin_models", "builtin_datasets", "builtin_metrics", "builtin_recipes"} <= set(records)
    assert all(records[ep]["dist"] == "galaxyzoo" for ep in records if ep.startswith("builtin_"))


def test_help_texts(run_cli):
    top = run_cli("--help")
    assert top.returncode == 0 and "list" in top.stdout and "plugins" in top.stdout
    listing = run_cli("list", "--help").stdout
    assert "{models,datasets,metrics,recipes}" in listing and "examples:" in listing and "DIST:NAME" in listing
    plugins = run_cli("plugins", "--help").stdout
    for switch in ("GALAXYZOO_DISABLE_PLUGINS", "GALAXYZOO_STRICT_PLUGINS", "GALAXYZOO_TRACE_PLUGINS"):
        assert switch in plugins


def test_console_script_is_installed(tmp_path):
    script = Path(sys.executable).with_name("galaxyzoo")
    assert script.exists(), "the `galaxyzoo` console script is missing: reinstall the package"
    done = subprocess.run([str(script), "plugins"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0 and "builtin_models" in done.stdout
