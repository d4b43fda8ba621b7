"""Test-time averaging over the dihedral views (issue 5): 4 right-angle rotations x 2 flips."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import galaxyzoo
from galaxyzoo.gz2 import tree as gz2_tree
from galaxyzoo.data.pipeline import BatchLoader
from galaxyzoo.data.preprocessing import Preprocessing
from galaxyzoo.workflows.inference import run_inference, transform_view, tta_views
from galaxyzoo.gz2.heads import wrap

from test_train_cli import TINY, cli, ok

SIZE = 16


def _data(name: str = "synthetic", n: int = 6):
    return galaxyzoo.create_dataset(name, "test", num_samples=n, image_size=40)


def _loader(data, prep: Preprocessing) -> BatchLoader:
    return BatchLoader(data, prep, 4, workers=0)


def _invariant(num_outputs: int) -> nn.Module:
    """Global average pooling, then linear: the same output for every rotation and flip."""
    torch.manual_seed(0)
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, num_outputs))


def _position_sensitive(num_outputs: int) -> nn.Module:
    """Every pixel has its own weight: a different output for every view."""
    torch.manual_seed(1)
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * SIZE * SIZE, num_outputs))


PREPS = [Preprocessing(size=SIZE), Preprocessing(size=SIZE, mode=None, crop=0.6, interp="bilinear")]


def test_views_are_the_dihedral_group():
    assert tta_views(1) == [(0, False)]
    assert tta_views(4) == [(0, False), (90, False), (180, False), (270, False)]
    assert len(set(tta_views(8))) == 8 and {f for _, f in tta_views(8)} == {False, True}
    for bad in (0, 2, 3, 16):
        with pytest.raises(ValueError, match="tta"):
            tta_views(bad)


@pytest.mark.parametrize("prep", PREPS, ids=["roi", "crop"])
def test_native_rotations_and_flips_equal_the_crop_transform(prep):
    """A right-angle view cut by the native preprocessing is the identity crop, rotated
    (np.rot90) and then mirrored: what run_inference applies to the loader's crops."""
    images = _data().read_images(range(6))
    crops = prep.apply(images).numpy()
    for angle, flip in tta_views(8):
        native = prep.apply(images, angles=np.full(6, float(angle), np.float32), flips=np.full(6, flip)).numpy()
        expected = np.rot90(crops, angle // 90, axes=(2, 3))
        expected = np.flip(expected, 3) if flip else expected
        np.testing.assert_array_equal(native, expected, err_msg=f"{angle} {flip}")
        np.testing.assert_array_equal(transform_view(torch.from_numpy(crops), angle, flip).numpy(), expected)


@pytest.mark.parametrize("prep", PREPS, ids=["roi", "crop"])
def test_an_invariant_model_gives_the_same_predictions_with_and_without_tta(prep):
    data = _data()
    model = _invariant(data.task.num_outputs)
    plain = run_inference(model, _loader(data, prep), data.task, progress=False)
    for tta in (4, 8):
        averaged = run_inference(model, _loader(data, prep), data.task, progress=False, tta=tta)
        np.testing.assert_allclose(averaged.probabilities, plain.probabilities, atol=1e-6)
        assert averaged.loss == pytest.approx(plain.loss, abs=1e-5)


@pytest.mark.parametrize("tta", [4, 8])
def test_averaged_probabilities_are_the_mean_over_the_transformed_crops(tta):
    data, prep = _data(), PREPS[0]
    model = _position_sensitive(data.task.num_outputs).eval()
    crops = prep.apply(data.read_images(range(len(data)))).numpy()
    views = []
    for angle, flip in tta_views(tta):
        x = np.rot90(crops, angle // 90, axes=(2, 3))
        x = np.flip(x, 3) if flip else x
        with torch.no_grad():
            views.append(model(torch.from_numpy(x.copy())).softmax(1).numpy())
    averaged = run_inference(model, _loader(data, prep), data.task, progress=False, tta=tta)
    np.testing.assert_allclose(averaged.probabilities, np.mean(views, axis=0), atol=1e-6)
    plain = run_inference(model, _loader(data, prep), data.task, progress=False)
    assert np.abs(plain.probabilities - averaged.probabilities).max() > 1e-3  # the views do differ
    np.testing.assert_allclose(averaged.probabilities.sum(1), 1, atol=1e-5)
    nll = -np.log(averaged.probabilities[np.arange(len(data)), np.asarray(data.targets)]).mean()
    assert averaged.loss == pytest.approx(nll, rel=1e-5)


def test_tree_head_fractions_stay_tree_consistent_after_averaging():
    data, prep = _data("synthetic_votes"), PREPS[0]
    model = wrap(_position_sensitive(data.task.num_outputs), "tree", data.task.num_outputs)
    single = run_inference(model, _loader(data, prep), data.task, progress=False)
    averaged = run_inference(model, _loader(data, prep), data.task, progress=False, tta=8)
    assert gz2_tree.max_tree_violation(averaged.probabilities) < 1e-6
    assert np.abs(single.probabilities - averaged.probabilities).max() > 1e-4
    rmse = np.sqrt(np.mean((averaged.probabilities - np.asarray(data.targets)) ** 2))
    assert averaged.loss == pytest.approx(rmse ** 2, rel=1e-4)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    where = tmp_path_factory.mktemp("tta")
    ok(cli("train", "--recipe", "default", "--epochs", "1", "--workers", "0", "--out", "run", *TINY, cwd=where))
    return where / "run"


def test_cli_evaluate_and_predict_with_tta(tiny_run, tmp_path):
    from galaxyzoo.workflows.checkpoint import load_model
    from galaxyzoo.data.pipeline import Subset

    done = ok(cli("evaluate", tiny_run, "--tta", "8", "--workers", "0", "--quiet", "--out", tmp_path / "ev",
                  cwd=tmp_path))
    assert "24 samples, averaged over 8 views" in done.stdout
    result = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert result["tta"] == 8 and np.asarray(result["metrics"]["confusion_matrix"]).sum() == 24
    done = cli("evaluate", tiny_run, "--tta", "3", cwd=tmp_path)
    assert done.returncode == 2 and "--tta" in done.stderr

    # predict --tta 8 (views cut natively) equals evaluation's averaging (views of the crops).
    model, meta, _ = load_model(tiny_run)
    data = galaxyzoo.create_dataset("synthetic", "test", **meta["dataset_options"])
    picked = Subset(data, [0, 7, 13])
    for i, image in enumerate(picked.read_images(range(3))):
        Image.fromarray(image).save(tmp_path / f"{i}.png")
    ok(cli("predict", tiny_run, *(tmp_path / f"{i}.png" for i in range(3)), "--tta", "8", "--out",
           tmp_path / "cat.csv", "--quiet", cwd=tmp_path))
    with open(tmp_path / "cat.csv") as f:
        rows = list(csv.DictReader(f))
    catalog = np.array([[float(r[f"prob_{c}"]) for c in data.task.outputs] for r in rows])
    loader = BatchLoader(picked, Preprocessing.from_dict(meta["preprocessing"]), 4, workers=0)
    expected = run_inference(model, loader, data.task, progress=False, tta=8).probabilities
    np.testing.assert_allclose(catalog, expected, atol=2e-6)
    single = run_inference(model, loader, data.task, progress=False).probabilities
    assert not np.allclose(single, expected, atol=1e-5)
