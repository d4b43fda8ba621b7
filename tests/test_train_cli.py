"""train / evaluate / predict through the real CLI, in subprocesses, on tiny synthetic data."""
from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import safetensors.torch
import torch
from PIL import Image

import galaxyzoo
from galaxyzoo import ops
from galaxyzoo.gz2 import tree as gz2_tree

# 24 synthetic images of 48 px per split, 32 px model inputs: seconds per run.
TINY = ["--dataset-opt", "num_samples=24", "--dataset-opt", "image_size=48", "--size", "32",
        "--batch-size", "8", "--quiet"]


def cli(*args, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GALAXYZOO_")}
    return subprocess.run([sys.executable, "-m", "galaxyzoo.cli", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def ok(done: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """One 2-epoch run of the default recipe, shared by the tests that only read it."""
    where = tmp_path_factory.mktemp("trained")
    ok(cli("train", "--recipe", "default", "--epochs", "2", "--workers", "0", "--out", "run", *TINY,
           cwd=where))
    return where / "run"


def weights(run: Path) -> dict:
    return safetensors.torch.load_file(run / "last" / "model.safetensors")


def test_train_writes_metrics_plots_and_checkpoints(trained):
    config = json.loads((trained / "config.json").read_text())
    assert config["recipe"] == "default" and config["model"] == "resnet_small" and config["epochs"] == 2
    metrics = json.loads((trained / "metrics.json").read_text())
    assert [r["epoch"] for r in metrics["epochs"]] == [1, 2] and metrics["monitor"] == "accuracy"
    record = metrics["epochs"][-1]
    assert 0 <= record["val_accuracy"] <= 1 and np.asarray(record["val_confusion_matrix"]).sum() == 24
    with open(trained / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 and {"train_loss", "val_loss", "val_accuracy", "lr"} <= set(rows[0])
    for png in ("learning_curves.png", "confusion_matrix.png"):
        assert (trained / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (trained / "last").resolve().name == "epoch-0002"
    best = (trained / "best").resolve()
    assert best.name == f"epoch-{metrics['best_epoch']:04d}" and (best / "COMPLETE").is_file()
    meta = json.loads((best / "meta.json").read_text())
    assert meta["model"] == "resnet_small" and meta["task"]["outputs"] == list(galaxyzoo.get_spec(
        "dataset", "synthetic").task.outputs)
    assert meta["preprocessing"]["size"] == 32 and meta["source_size"] == 48


def test_evaluate_prints_a_table_and_writes_metrics(trained, tmp_path):
    done = ok(cli("evaluate", trained, "--split", "test", "--workers", "0", "--quiet", "--out", tmp_path / "ev",
                  cwd=tmp_path))
    assert "accuracy" in done.stdout and "confusion matrix" in done.stdout and "24 samples" in done.stdout
    result = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert result["split"] == "test" and result["dataset_options"]["num_samples"] == 24
    assert np.asarray(result["metrics"]["confusion_matrix"]).sum() == 24
    assert (tmp_path / "ev" / "confusion_matrix.png").is_file()


def test_predict_writes_one_row_per_input_and_errors_for_bad_files(trained, tmp_path):
    images = galaxyzoo.create_dataset("synthetic", "test", num_samples=2, image_size=64).read_images([0, 1])
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(images[0]).save(folder / "a.jpg")
    Image.fromarray(images[1]).save(folder / "b.png")
    (folder / "c.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (folder / "notes.txt").write_text("ignored: not an image suffix")
    done = ok(cli("predict", trained, folder, tmp_path / "missing.jpg", "--out", tmp_path / "cat.csv",
                  "--quiet", cwd=tmp_path))
    assert "2 input(s) could not be read" in done.stderr
    with open(tmp_path / "cat.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["id"] for r in rows] == ["a", "b", "c", "missing"]
    classes = galaxyzoo.get_spec("dataset", "synthetic").task.outputs
    for row in rows[:2]:
        assert row["status"] == "ok" and row["predicted"] in classes
        probs = [float(row[f"prob_{c}"]) for c in classes]
        assert sum(probs) == pytest.approx(1, abs=1e-4)
        assert row["predicted"] == classes[int(np.argmax(probs))]
    assert rows[2]["status"] == "error" and rows[2]["error"].split(":")[0] in ("truncated", "corrupt")
    assert rows[3]["status"] == "error" and rows[3]["error"].startswith("missing")


@pytest.mark.parametrize("damage", ["pickle", "truncated", "no_marker"])
def test_invalid_checkpoint_is_rejected_clearly(trained, tmp_path, damage):
    bad = tmp_path / "bad"
    shutil.copytree(trained / "best", bad)
    weights_file = bad / "model.safetensors"
    if damage == "pickle":
        import pickle

        weights_file.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    elif damage == "truncated":
        weights_file.write_bytes(weights_file.read_bytes()[:1000])
    else:
        (bad / "COMPLETE").unlink()
    expected = "incomplete checkpoint" if damage == "no_marker" else "not a valid safetensors file"
    for args in (["evaluate", bad, "--workers", "0"], ["predict", bad, bad, "--out", tmp_path / "x.csv"]):
        done = cli(*args, cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        assert expected in done.stderr and "Traceback" not in done.stderr


def test_resume_after_interruption_equals_an_uninterrupted_run(trained, tmp_path):
    """Stop after epoch 1 (with worker processes), leave a killed save behind, resume in the
    main process: the final weights equal the uninterrupted 2-epoch run's bit for bit."""
    ok(cli("train", "--recipe", "default", "--epochs", "2", "--workers", "2", "--out", "run", *TINY,
           "--stop-after-epoch", "1", cwd=tmp_path))
    run = tmp_path / "run"
    assert (run / "last").resolve().name == "epoch-0001"
    orphan = run / "checkpoints" / "epoch-0002"  # as if killed while saving epoch 2
    orphan.mkdir()
    (orphan / "model.safetensors").write_bytes(b"partial")
    (run / ".metrics.json.123.tmp").write_bytes(b"partial")
    done = ok(cli("train", "--resume", run, "--workers", "0", "--quiet", cwd=tmp_path))
    assert "2 epochs" in done.stdout
    resumed, uninterrupted = weights(run), weights(trained)
    assert resumed.keys() == uninterrupted.keys()
    for key in resumed:
        assert resumed[key].equal(uninterrupted[key]), key
    history = json.loads((run / "metrics.json").read_text())["epochs"]
    reference = json.loads((trained / "metrics.json").read_text())["epochs"]
    assert [r["val_loss"] for r in history] == [r["val_loss"] for r in reference]


def test_existing_run_needs_resume_and_resume_keeps_its_settings(trained, tmp_path):
    done = cli("train", "--recipe", "default", "--out", trained, cwd=tmp_path)
    assert done.returncode == 2 and "--resume" in done.stderr
    done = cli("train", "--resume", trained, "--epochs", "5", cwd=tmp_path)
    assert done.returncode == 2 and "saved settings" in done.stderr
    done = cli("train", "--resume", tmp_path / "nothing", cwd=tmp_path)
    assert done.returncode == 2 and "nothing to resume" in done.stderr


def test_bad_names_and_options_are_one_line_errors(tmp_path):
    done = cli("train", "--model", "resnet_smal", "--dataset", "synthetic", cwd=tmp_path)
    assert done.returncode == 2 and "resnet_small" in done.stderr and "Traceback" not in done.stderr
    done = cli("train", "--recipe", "default", "--optimizer", "rmsprop", cwd=tmp_path)
    assert done.returncode == 2 and "adamw" in done.stderr
    done = cli("train", "--model", "two_conv", cwd=tmp_path)
    assert done.returncode == 2 and "--dataset" in done.stderr
    done = cli("train", "--recipe", "default", "--monitor", "confusion_matrix", "--out", "m", *TINY,
               cwd=tmp_path)
    assert done.returncode == 2 and "scalar metrics" in done.stderr
    assert not (tmp_path / "m").exists()  # nothing written for a run that never started


def test_early_stopping_and_vote_fractions(tmp_path):
    """A learning rate too small to change any prediction: accuracy never improves, so
    patience 1 stops after 2 of 5 epochs. The dense net has no batch norm to drift."""
    done = ok(cli("train", "--model", "dense_mlp", "--dataset", "synthetic", "--epochs", "5",
                  "--patience", "1", "--lr", "1e-12", "--schedule", "constant", "--workers", "0",
                  "--out", "stop", *TINY, cwd=tmp_path))
    assert "stopped early" in done.stdout
    assert len(json.loads((tmp_path / "stop" / "metrics.json").read_text())["epochs"]) == 2
    # Vote fractions: sigmoid outputs, RMSE metrics, 37 columns in the catalog.
    ok(cli("train", "--model", "two_conv", "--dataset", "synthetic_votes", "--epochs", "1",
           "--workers", "0", "--out", "votes", *TINY, cwd=tmp_path))
    record = json.loads((tmp_path / "votes" / "metrics.json").read_text())["epochs"][0]
    assert 0 < record["val_rmse"] < 0.5 and len(record["val_rmse_per_question"]) == 11
    image = galaxyzoo.create_dataset("synthetic", "test", num_samples=1, image_size=48).read_images([0])[0]
    Image.fromarray(image).save(tmp_path / "g.png")
    ok(cli("predict", tmp_path / "votes", tmp_path / "g.png", "--out", tmp_path / "v.csv", "--quiet",
           cwd=tmp_path))
    with open(tmp_path / "v.csv") as f:
        row = next(csv.DictReader(f))
    fractions = [float(row[c]) for c in gz2_tree.COLUMNS]
    assert len(fractions) == 37 and all(0 < v < 1 for v in fractions)


@pytest.mark.gpu
@pytest.mark.skipif(not ops.cuda_available(), reason="no CUDA device or CUDA backend")
def test_train_and_predict_on_cuda(tmp_path):
    ok(cli("train", "--recipe", "default", "--epochs", "1", "--device", "cuda", "--out", "run", *TINY,
           cwd=tmp_path))
    meta = json.loads((tmp_path / "run" / "best" / "meta.json").read_text())
    assert 0 <= meta["metrics"]["accuracy"] <= 1
    done = ok(cli("evaluate", tmp_path / "run", "--device", "cuda", "--quiet", cwd=tmp_path))
    assert "accuracy" in done.stdout


# --- in-process pieces of the training setup ----------------------------------------------

def test_balanced_class_weights():
    from types import SimpleNamespace

    from galaxyzoo.specs import Task
    from galaxyzoo.workflows.train import class_weights
    from galaxyzoo.workflows.train_config import TrainConfig

    data = SimpleNamespace(task=Task("classification", ("a", "b", "c")), targets=np.array([0, 0, 0, 1]))
    config = TrainConfig(model="m", dataset="d", loss="balanced")
    weights = class_weights(config, data, torch.device("cpu"))
    torch.testing.assert_close(weights, torch.tensor([4 / 9, 4 / 3, 0.0]))
    config.loss = "auto"
    assert class_weights(config, data, torch.device("cpu")) is None


def test_schedules_and_optimizers():
    from galaxyzoo.workflows.train_config import make_optimizer, make_scheduler, TrainConfig

    config = TrainConfig(model="m", dataset="d", epochs=2, lr=0.1, optimizer="sgd")
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = make_optimizer(config, [param])
    assert isinstance(optimizer, torch.optim.SGD) and optimizer.param_groups[0]["nesterov"]
    scheduler = make_scheduler(config, optimizer, steps_per_epoch=50)  # 100 steps, 3 warm-up
    lrs = []
    for _ in range(100):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert lrs[0] == pytest.approx(0.1 / 3) and max(lrs) == pytest.approx(0.1)
    assert lrs[3] == pytest.approx(0.1) and lrs[-1] < 0.001
    assert all(a >= b for a, b in zip(lrs[3:], lrs[4:]))  # cosine decay is monotone
    config.schedule = "constant"
    constant = make_scheduler(config, make_optimizer(config, [param]), steps_per_epoch=5)
    assert constant.get_last_lr() == [0.1]
    with pytest.raises(ValueError, match="optimizer"):
        TrainConfig(model="m", dataset="d", optimizer="rmsprop").validate()


def test_predict_matches_evaluation_of_the_same_images(trained, tmp_path):
    """A catalog row is what evaluation computes for that image: same decode size, same crop."""
    from galaxyzoo.workflows.checkpoint import load_model
    from galaxyzoo.data.pipeline import BatchLoader, Subset
    from galaxyzoo.data.preprocessing import Preprocessing
    from galaxyzoo.workflows.inference import run_inference

    model, meta, _ = load_model(trained)
    data = galaxyzoo.create_dataset("synthetic", "test", **meta["dataset_options"])
    picked = Subset(data, [0, 5, 10, 15])
    for i, image in enumerate(picked.read_images(range(4))):
        Image.fromarray(image).save(tmp_path / f"{i}.png")  # lossless
    ok(cli("predict", trained, tmp_path, "--out", tmp_path / "cat.csv", "--quiet", cwd=tmp_path))
    with open(tmp_path / "cat.csv") as f:
        rows = list(csv.DictReader(f))
    catalog = np.array([[float(r[f"prob_{c}"]) for c in data.task.outputs] for r in rows])
    loader = BatchLoader(picked, Preprocessing.from_dict(meta["preprocessing"]), 4, workers=0)
    expected = run_inference(model, loader, data.task, progress=False).probabilities
    np.testing.assert_allclose(catalog, expected, atol=2e-6)


SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "gz2_sample"


@pytest.mark.sample
@pytest.mark.skipif(not (SAMPLE / "labels.csv").is_file(), reason=f"real GZ2 sample not found at {SAMPLE}")
@pytest.mark.skipif("gz2_sample" not in galaxyzoo.list_datasets(), reason="dataset gz2_sample is not registered")
def test_real_gz2_sample_recipe_trains_evaluates_and_predicts(tmp_path):
    ok(cli("train", "--recipe", "gz2_sample_spiral", "--root", SAMPLE, "--epochs", "1", "--limit-train", "64",
           "--limit-val", "32", "--size", "32", "--workers", "0", "--quiet", "--out", "run", cwd=tmp_path))
    done = ok(cli("evaluate", tmp_path / "run", "--limit", "32", "--workers", "0", "--quiet", cwd=tmp_path))
    assert "32 samples" in done.stdout and "balanced_accuracy" in done.stdout
    files = sorted((SAMPLE / "images").glob("*.jpg"))[:3]
    ok(cli("predict", tmp_path / "run", *files, "--out", tmp_path / "cat.csv", "--quiet", cwd=tmp_path))
    with open(tmp_path / "cat.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["status"] for r in rows] == ["ok"] * 3 and {r["predicted"] for r in rows} <= {"spiral", "non_spiral"}
