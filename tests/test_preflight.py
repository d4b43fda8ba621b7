"""Issue 14: contract breaches fail before any work, naming the plugin and its distribution,
and leave no run folder behind; recipes are validated when registered."""
from __future__ import annotations

import json
import warnings

import pytest

import galaxyzoo
from galaxyzoo import RecipeSpec
from galaxyzoo.registry import PluginWarning

PLUGIN = '''
import numpy as np
from torch import nn
from galaxyzoo import DatasetSpec, ModelSpec, RecipeSpec, Task, hookimpl

TASK = Task("classification", ("a", "b"))


class Tiny:
    task = TASK

    def __init__(self, split="train", root=None, fmt="ok"):
        self.fmt = fmt
        self.ids = [f"{split}-{i}" for i in range(16)]
        self.targets = np.arange(16, dtype=np.int64) % 2

    def __len__(self):
        return len(self.ids)

    def read_images(self, indices):
        images = np.full((len(indices), 32, 32, 3), 40, np.uint8)
        if self.fmt == "float":
            return images.astype(np.float32) / 255
        if self.fmt == "chw":
            return np.ascontiguousarray(images.transpose(0, 3, 1, 2))
        return images


def build_dataset(split, root=None, fmt="ok"):
    return Tiny(split, root, fmt)


def build_model(num_outputs, in_chans=3, input_size=32, extra=0):
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(in_chans, num_outputs + extra))


@hookimpl
def galaxyzoo_models():
    return [ModelSpec(name="pf_ok", summary="fine", builder="pfplug:build_model", input_size=32),
            ModelSpec(name="pf_wide", summary="one output too many", builder="pfplug:build_model",
                      input_size=32, defaults={"extra": 1})]


@hookimpl
def galaxyzoo_datasets():
    spec = dict(summary="tiny", builder="pfplug:build_dataset", task=TASK, image_size=32, splits=("train", "val"))
    return [DatasetSpec(name="pf_data", **spec),
            DatasetSpec(name="pf_float", defaults={"fmt": "float"}, **spec),
            DatasetSpec(name="pf_chw", defaults={"fmt": "chw"}, **spec)]


@hookimpl
def galaxyzoo_recipes():
    common = dict(summary="r", dataset="pf_data", input_size=32, epochs=1, batch_size=8)
    return [RecipeSpec(name="pf_none", model="pf_ok", preprocess={"mode": "none"}, **common),
            RecipeSpec(name="pf_cross", model="pf_ok", metrics=("accuracy",), **common)]
'''

BAD_RECIPES = '''
from galaxyzoo import RecipeSpec, hookimpl


@hookimpl
def galaxyzoo_recipes():
    return [RecipeSpec(name="pf_typo", summary="r", dataset="pf_data", model="pf_ok", input_size=32, epochs=1,
                       batch_size=8, optimizer="adamm")]
'''

DIST = "pf-plugin"


@pytest.fixture
def site(fake_site):
    fake_site.add(DIST, {"pfplug": PLUGIN, "pfbad": BAD_RECIPES}, {"pf": "pfplug", "pfbad": "pfbad"}, version="2.3")
    return fake_site


def train(run_cli, site, tmp_path, *args):
    out = tmp_path / "run"
    done = run_cli("train", "--epochs", "1", "--batch-size", "8", "--size", "32", "--quiet", "--out", str(out),
                   *args, pythonpath=[site.path], timeout=300)
    return done, out


@pytest.mark.parametrize("model, dataset, workers, needle", [
    ("pf_wide", "pf_data", "0", "output shape (2, 3) for a 2×3×32×32 batch; expected (2, 2)"),
    ("pf_ok", "pf_float", "2", "read_images returned float32 pixels; expected uint8"),
    ("pf_ok", "pf_chw", "2", "channels first; expected N×H×W×3"),
])
def test_train_fails_early_naming_the_plugin(run_cli, site, tmp_path, model, dataset, workers, needle):
    done, out = train(run_cli, site, tmp_path, "--model", model, "--dataset", dataset, "--workers", workers)
    assert done.returncode == 2, done.stderr
    (line,) = [ln for ln in done.stderr.splitlines() if ln.startswith("galaxyzoo train: error:")]
    assert needle in line
    kind, name = ("model", model) if model == "pf_wide" else ("dataset", dataset)
    assert f"{kind} {name!r} (plugin 'pf' from distribution {DIST} 2.3)" in line
    assert "Traceback" not in done.stderr and "DataLoader worker" not in done.stderr
    assert not out.exists(), "a failed start left a run folder behind"


def test_evaluate_and_predict_check_the_model(run_cli, site, tmp_path):
    done, out = train(run_cli, site, tmp_path, "--model", "pf_ok", "--dataset", "pf_data", "--workers", "0")
    assert done.returncode == 0, done.stderr
    done = run_cli("evaluate", str(out), "--dataset", "pf_float", "--split", "val", "--workers", "0", "--quiet",
                   pythonpath=[site.path])
    assert done.returncode == 2 and "dataset 'pf_float' (plugin 'pf' from distribution pf-plugin 2.3)" in done.stderr
    assert "expected uint8" in done.stderr
    # predict's check, on a checkpointed model that a plugin upgrade made one output too wide.
    import torch

    from galaxyzoo.workflows import preflight

    net = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(3, 5))
    meta = {"model": "pf_ok", "preprocessing": {"size": 32}, "task": {"outputs": ["a", "b"]}, "source_size": 32}
    galaxyzoo.registry.reset()
    with pytest.warns(PluginWarning), pytest.raises(galaxyzoo.errors.ContractError, match=r"model 'pf_ok' \(plugin 'pf' from distribution pf-plugin 2.3\).*\(2, 5\)"):
        preflight.check_prediction([(net, meta, None)])


def test_recipe_mode_none_is_accepted_as_the_cli_spells_it(site):
    with pytest.warns(PluginWarning):  # pfbad's problem
        spec = galaxyzoo.get_recipe("pf_none")
    assert spec.preprocess == {"mode": None}


@pytest.mark.parametrize("field, value, needle", [
    ("optimizer", "adamm", "unknown optimizer 'adamm'"),
    ("schedule", "linear", "unknown schedule 'linear'"),
    ("loss", "focal", "unknown loss 'focal'"),
    ("preprocess", {"mode": "centre"}, "preprocess mode 'centre'"),
    ("preprocess", {"roi": "central"}, "unknown preprocess keys ['roi']"),
    ("augment", {"rotation": True}, "unknown augment keys ['rotation']"),
])
def test_recipe_fields_checked_at_registration(field, value, needle):
    with pytest.raises(ValueError, match=needle.replace("[", r"\[").replace("]", r"\]")):
        RecipeSpec(name="r", summary="s", dataset="d", model="m", input_size=8, epochs=1, batch_size=1,
                   **{field: value})


def test_a_bad_recipe_is_a_plugin_problem_at_registration(site, run_cli):
    with pytest.warns(PluginWarning, match="unknown optimizer 'adamm'"):
        records = galaxyzoo.plugins()
    bad = {r.entry_point: r for r in records if r.dist == DIST}
    assert bad["pf"].status == "ok" and bad["pfbad"].status == "problems"
    (problem,) = bad["pfbad"].problems
    assert "recipe 'pf_typo': unknown optimizer 'adamm'; choose from" in problem.error
    assert "pf_typo" not in galaxyzoo.list_recipes("pf_*")
    done = run_cli("plugins", "--json", pythonpath=[site.path])
    rows = {r["entry_point"]: r for r in json.loads(done.stdout) if r["dist"] == DIST}
    assert rows["pfbad"]["status"] == "problems" and "unknown optimizer 'adamm'" in done.stderr
    assert "PluginWarning" not in done.stderr  # the CLI prints problems its own way
    done = run_cli("list", "recipes", "pf_*", pythonpath=[site.path])
    assert done.returncode == 0 and "pf_none" in done.stdout and "pf_typo" not in done.stdout


def test_no_warning_when_all_plugins_are_fine(clean_registry):
    with warnings.catch_warnings():
        warnings.simplefilter("error", PluginWarning)
        galaxyzoo.plugins()
