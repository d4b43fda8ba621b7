"""Ensembles (``--ensemble``): evaluate and predict average several checkpoints' probabilities
(vote fractions), each member with its own preprocessing and test-time averaging."""
from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import galaxyzoo
from galaxyzoo.workflows.checkpoint import load_model, resolve
from galaxyzoo.cli import main
from galaxyzoo.data.bad_inputs import encode, galaxy_like
from galaxyzoo.data.pipeline import BatchLoader
from galaxyzoo.data.preprocessing import Preprocessing
from galaxyzoo.workflows.evaluate import evaluate_checkpoint
from galaxyzoo.workflows.inference import compute_metrics, probability_loss, run_inference
from galaxyzoo.data.inputs import walk_images
from galaxyzoo.workflows.ingest import ingest, IngestOptions
from galaxyzoo.workflows.predict import predict_files
from galaxyzoo.workflows.train import train
from galaxyzoo.workflows.train_config import TrainConfig

DATA = {"num_samples": 24, "image_size": 48}
CLASSES = galaxyzoo.create_dataset("synthetic", "test", **DATA).task.outputs
# Each catalog value is rounded to 6 decimals, so the mean of two catalogs and the catalog of
# the mean may differ by two half-units of the last place (plus float32 noise).
CATALOG_ATOL = 1e-6 + 1e-7


def _train(root: Path, name: str, **config) -> Path:
    defaults = dict(model="two_conv", dataset="synthetic", epochs=1, batch_size=8, dataset_options=DATA)
    return train(TrainConfig(**{**defaults, **config}), root / name, workers=0, progress=False).run_dir


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Tiny one-epoch runs on the same synthetic galaxies: two classifiers that preprocess
    differently (32 px; 48 px normalised), a vote-fraction model, and a classifier trained on
    larger images (another source size)."""
    root = tmp_path_factory.mktemp("ensemble")
    return {
        "a": _train(root, "a", input_size=32),
        "b": _train(root, "b", input_size=48, seed=1,
                    preprocess={"mean": [0.1, 0.1, 0.1], "std": [0.2, 0.25, 0.3]}),
        "votes": _train(root, "votes", dataset="synthetic_votes", input_size=32),
        "big": _train(root, "big", input_size=32, dataset_options={**DATA, "image_size": 64}),
    }


def _member_predictions(checkpoint: Path, data, tta: int = 1):
    model, meta, _ = load_model(checkpoint)
    loader = BatchLoader(data, Preprocessing.from_dict(meta["preprocessing"]), 8, workers=0)
    return run_inference(model, loader, data.task, progress=False, tta=tta)


@pytest.mark.parametrize("tta", [1, 4])
def test_evaluate_is_the_mean_of_the_members(runs, tta, tmp_path):
    data = galaxyzoo.create_dataset("synthetic", "test", **DATA)
    a, b = (_member_predictions(runs[k], data, tta) for k in "ab")
    mean = (a.probabilities + b.probabilities) / 2
    assert np.abs(a.probabilities - b.probabilities).max() > 1e-3  # the members do differ

    result = evaluate_checkpoint([runs["a"], runs["b"]], out_dir=tmp_path / "ev", workers=0, progress=False,
                                 tta=tta)
    expected = compute_metrics(("accuracy", "balanced_accuracy", "roc_auc_ovr", "confusion_matrix"),
                               type(a)(mean, a.targets, 0.0), data.task)
    assert result.metrics.keys() == expected.keys()
    for name, value in expected.items():
        np.testing.assert_allclose(result.metrics[name], value, atol=1e-6, err_msg=name)
    written = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert written["checkpoints"] == [str(resolve(runs[k])) for k in "ab"]
    assert result.checkpoints == tuple(resolve(runs[k]) for k in "ab")
    assert written["tta"] == tta and written["samples"] == len(data)
    nll = probability_loss(torch.from_numpy(mean), torch.as_tensor(a.targets), data.task)
    assert written["loss"] == pytest.approx(float(nll), rel=1e-5)


def test_cli_evaluate_ensemble_default_folder(runs, capsys):
    assert main(["evaluate", str(runs["a"]), "--ensemble", str(runs["b"]), "--workers", "0", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert f"{len(galaxyzoo.create_dataset('synthetic', 'test', **DATA))} samples, ensemble of 2 models" in out
    folder = runs["a"].resolve() / "eval-ensemble-synthetic-test"
    assert f"written to {folder}" in out
    written = json.loads((folder / "metrics.json").read_text())
    assert written["checkpoints"] == [str(resolve(runs[k])) for k in "ab"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> list[Path]:
    """Six 48-px galaxy JPEGs, one empty file, and an ingest of the same files (48-px crops)."""
    root = tmp_path_factory.mktemp("inputs")
    folder = root / "img"
    folder.mkdir()
    for i in range(6):
        (folder / f"g{i}.jpg").write_bytes(encode(galaxy_like(48, 48, seed=i)))
    (folder / "g6.jpg").write_bytes(b"")
    ingest(walk_images(folder), root / "shards", IngestOptions(size=48), workers=0, progress=False)
    return [folder, root / "shards"]


def _read(path: Path) -> tuple[list[dict], np.ndarray]:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    probs = np.array([[float(r[f"prob_{c}"]) if r["status"] == "ok" else np.nan for c in CLASSES]
                      for r in rows])
    return rows, probs


@pytest.mark.parametrize("tta", [1, 4])
def test_predict_is_the_mean_of_the_single_model_catalogs(runs, inputs, tta, tmp_path):
    for k in "ab":
        predict_files(runs[k], inputs, tmp_path / f"{k}.csv", progress=False, tta=tta)
    catalog = predict_files([runs["a"], runs["b"]], inputs, tmp_path / "ab.csv", progress=False, tta=tta)
    (rows_a, a), (rows_b, b), (rows, ab) = (_read(tmp_path / f"{k}.csv") for k in ("a", "b", "ab"))
    assert (catalog.rows, catalog.errors) == (14, 2)  # 7 files, 7 manifest rows; the empty file twice
    assert [r["status"] for r in rows] == [r["status"] for r in rows_a]
    bad = [r for r in rows if r["status"] == "error"]
    assert len(bad) == 2 and all(r["error"].startswith("empty") and r["predicted"] == "" for r in bad)
    ok = ~np.isnan(ab).any(1)
    assert np.abs(a[ok] - b[ok]).max() > 1e-3  # the members do differ
    np.testing.assert_allclose(ab[ok], (a[ok] + b[ok]) / 2, atol=CATALOG_ATOL, rtol=0)
    assert [r["predicted"] for r, good in zip(rows, ok) if good] == [CLASSES[i] for i in ab[ok].argmax(1)]


def test_cli_predict_ensemble(runs, inputs, tmp_path, capsys):
    predict_files([runs["a"], runs["b"]], inputs[:1], tmp_path / "api.csv", progress=False, tta=4)
    assert main(["predict", str(runs["a"]), str(inputs[0]), "--ensemble", str(runs["b"]), "--tta", "4",
                 "--out", str(tmp_path / "cli.csv"), "--quiet"]) == 0
    assert "7 rows written" in capsys.readouterr().out
    assert (tmp_path / "cli.csv").read_bytes() == (tmp_path / "api.csv").read_bytes()


@pytest.mark.parametrize("other, differs", [("votes", "task"), ("big", "source size")])
def test_members_that_do_not_match_are_refused_before_anything_is_written(runs, inputs, other, differs,
                                                                          tmp_path, capsys):
    args = ["predict", str(runs["a"]), str(inputs[0]), "--ensemble", str(runs["b"]), "--ensemble",
            str(runs[other]), "--out", str(tmp_path / "cat.csv"), "--quiet"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("galaxyzoo predict: error: ensemble member")
    assert f"{runs[other].resolve()}" in err and f"its {differs} is" in err
    assert not (tmp_path / "cat.csv").exists()

    if other == "votes":  # evaluate needs the same task too
        with pytest.raises(ValueError, match=f"ensemble member .*{runs['votes'].name}.*its task is "
                                             "'vote_fractions', the first checkpoint's 'classification'"):
            evaluate_checkpoint([runs["a"], runs["votes"]], out_dir=tmp_path / "ev", workers=0, progress=False)
        assert not (tmp_path / "ev").exists()
    else:  # ... but not the same source size: each member preprocesses the dataset's images
        evaluate_checkpoint([runs["a"], runs["big"]], out_dir=tmp_path / "ev", workers=0, progress=False)
        assert (tmp_path / "ev" / "metrics.json").exists()


def test_dask_ensemble_equals_local(runs, inputs, tmp_path):
    pytest.importorskip("distributed", reason='Dask is not installed (pip install "galaxyzoo[dask]")')
    from galaxyzoo.workflows.dask_engine import dask_client, dask_predict

    members = [runs["a"], runs["b"]]
    local = predict_files(members, inputs, tmp_path / "local.csv", batch_size=4, device="cpu", threads=1,
                          progress=False)
    with dask_client(workers=2) as client:
        dask = dask_predict(members, inputs, tmp_path / "dask.csv", client, batch_size=4, chunk_batches=1,
                            device="cpu", progress=False)
        # Each worker holds one Predictor, keyed on both members' weights.
        keys = client.run(lambda: [k[0] for k in sys.modules["galaxyzoo.workflows.dask_engine"]._loaded])
    assert (dask.rows, dask.errors) == (local.rows, local.errors)
    assert (tmp_path / "dask.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()
    assert any(keys.values())
    for held in keys.values():
        assert len(held) <= 1 and all(len(members_key) == 2 for members_key in held)
