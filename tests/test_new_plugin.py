"""`galaxyzoo new-plugin`: the skeleton installs and trains as written, and passes its own tests."""
from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import time

import pytest

from galaxyzoo.cli.new_plugin_cmd import package_name, template_files, write_plugin
from galaxyzoo.errors import UserError

DIST = "gzskel-e2e"
PKG = "gzskel_e2e"


def test_template_covers_every_kind():
    files = set(template_files())
    assert {"pyproject.toml", "__PKG__/plugin.py", "__PKG__/model.py", "__PKG__/dataset.py",
            "__PKG__/metric.py", "tests/test_plugin.py", "README.md"} <= files


def test_names(tmp_path):
    assert package_name("My-Galaxy.plugin") == "my_galaxy_plugin"
    for bad in ("1abc", "class", "galaxyzoo"):
        with pytest.raises(UserError):
            package_name(bad)
    write_plugin("ok-name", tmp_path / "a")
    with pytest.raises(UserError, match="not empty"):
        write_plugin("ok-name", tmp_path / "a")
    text = (tmp_path / "a" / "pyproject.toml").read_text()
    assert '[project.entry-points.galaxyzoo]\nok_name = "ok_name.plugin"' in text


@pytest.fixture
def installed_skeleton(tmp_path, run_cli):
    """new-plugin, then pip install into a folder of its own: only processes given that folder
    on PYTHONPATH see the plugin, so tests running in parallel never meet a half-installed one."""
    start = time.perf_counter()
    done = run_cli("new-plugin", DIST)
    assert done.returncode == 0, done.stderr
    where, site = tmp_path / DIST, tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-build-isolation", "--no-deps",
           "--target", str(site), str(where)]
    done = subprocess.run(pip, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    yield where, site, start


@pytest.mark.slow
def test_skeleton_installs_trains_and_passes_its_tests(installed_skeleton, run_cli, tmp_path):
    where, site, start = installed_skeleton
    cli = functools.partial(run_cli, pythonpath=[site])
    records = json.loads(cli("plugins", "--json").stdout)
    (record,) = [r for r in records if r["dist"] == DIST]
    assert record["status"] == "ok", record["problems"]
    assert record["contributions"] == {"model": [f"{PKG}_cnn"], "dataset": [f"{PKG}_blobs"],
                                       "metric": [f"{PKG}_recall"], "recipe": [f"{PKG}_default"]}

    # As the README of the skeleton says, with a shorter run.
    run = tmp_path / "run"
    done = cli("train", "--recipe", f"{PKG}_default", "--epochs", "1", "--dataset-opt", "n=128",
               "--workers", "0", "--quiet", "--out", str(run), timeout=300)
    assert done.returncode == 0, done.stderr
    elapsed = time.perf_counter() - start
    (epoch,) = json.loads((run / "metrics.json").read_text())["epochs"]
    assert 0 <= epoch[f"val_{PKG}_recall"] <= 1 and (run / "best").exists()
    print(f"new-plugin -> installed -> trained: {elapsed:.1f} s")

    done = cli("evaluate", str(run), "--split", "test", "--json", "--workers", "0", "--quiet",
               "--dataset-opt", "n=64", timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"{PKG}_recall" in json.loads(done.stdout)

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(where / "tests")],
                          capture_output=True, text=True, timeout=300, cwd=where, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
