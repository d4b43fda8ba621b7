"""Issue 11: the real gz2_votes / gz2_zhu5 datasets, seed 002's baselines, per-class metrics,
budget-filling benchmarks and the leaderboard's columns. Real-data tests skip without the data."""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

import galaxyzoo as gz
from galaxyzoo import registry
from galaxyzoo.errors import DatasetNotFoundError
from galaxyzoo.specs import Task
from galaxyzoo.workflows import benchmark as bm
from galaxyzoo.workflows.train import train
from galaxyzoo.workflows.train_config import TrainConfig
from galaxyzoo_builtin.datasets.gz2_real import VOTES_COUNTS, ZHU5_CLASSES, ZHU5_COUNTS
from galaxyzoo_builtin.metrics.classwise import macro_f1, recall_per_class

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SAMPLE, ZHU5 = DATA / "gz2_sample", DATA / "gz2_zhu5"
needs_votes = pytest.mark.skipif(not (SAMPLE / "votes.csv").is_file(), reason=f"no real GZ2 votes at {SAMPLE}")
needs_zhu5 = pytest.mark.skipif(not (ZHU5 / "labels.csv").is_file(), reason=f"no gz2_zhu5 data at {ZHU5}")


# ---- datasets -------------------------------------------------------------------------------

@needs_votes
def test_gz2_votes_split_sizes_and_columns_match_the_readme():
    for split, count in VOTES_COUNTS.items():
        data = gz.create_dataset("gz2_votes", split=split, root=SAMPLE)
        assert len(data) == count and not data.problems
        assert data.task.kind == "vote_fractions" and data.task.outputs[0] == "Class1.1" and data.task.num_outputs == 37
        assert data.targets.shape == (count, 37)
        np.testing.assert_allclose(data.targets[:, :3].sum(1), 1.0, atol=1e-4)  # Q1 sums to 1
    assert sum(VOTES_COUNTS.values()) == 3716


@needs_votes
def test_mean_vote_of_the_train_split_scores_0_166_on_the_test_split():
    train_set = gz.create_dataset("gz2_votes", split="train", root=SAMPLE)
    test_set = gz.create_dataset("gz2_votes", split="test", root=SAMPLE)
    pred = np.broadcast_to(train_set.targets.mean(0), test_set.targets.shape)
    score = registry.create_metric("rmse")(test_set.targets, pred, test_set.task)
    assert score == pytest.approx(0.166, abs=0.0015)


@needs_zhu5
def test_gz2_zhu5_split_and_class_counts_match_the_readme():
    totals = np.zeros(5, int)
    for split, count in ZHU5_COUNTS.items():
        data = gz.create_dataset("gz2_zhu5", split=split, root=ZHU5)
        assert len(data) == count and not data.problems
        assert data.task == Task("classification", ZHU5_CLASSES)
        totals += np.bincount(data.targets, minlength=5)
    assert dict(zip(ZHU5_CLASSES, totals.tolist())) == {
        "round": 2049, "in_between": 1983, "cigar": 142, "edge_on": 939, "spiral": 1887}


@pytest.mark.parametrize("name, first", [("gz2_votes", "votes.csv"), ("gz2_zhu5", "labels.csv")])
def test_missing_files_give_one_message_naming_the_layout(tmp_path, name, first):
    with pytest.raises(DatasetNotFoundError) as error:
        gz.create_dataset(name, split="train", root=tmp_path)
    text = str(error.value)
    assert first in text and "images/" in text and "<GalaxyID>.jpg" in text


# ---- metrics --------------------------------------------------------------------------------

def test_macro_f1_and_recall_per_class_by_hand():
    task = Task("classification", ("a", "b", "c"))
    labels = np.array([0, 0, 1, 1, 1, 2])
    probs = np.eye(3)[[0, 1, 1, 1, 0, 0]]  # predicted 0 1 1 1 0 0
    # recall: a 1/2, b 2/3, c 0/1; F1: a 2·1/(2+1+... ) -> tp 1, fp 2, fn 1 -> 2/5; b tp2 fp1 fn1 -> 4/6; c 0
    np.testing.assert_allclose(recall_per_class(labels, probs, task), [0.5, 2 / 3, 0.0])
    assert macro_f1(labels, probs, task) == pytest.approx((0.4 + 4 / 6 + 0.0) / 3)
    assert math.isnan(recall_per_class(np.array([0, 0]), np.eye(3)[[0, 1]], task)[2])


# ---- baselines ------------------------------------------------------------------------------

def _fit(model_name: str, tmp_path: Path, epochs: int = 40) -> tuple[Path, TrainConfig]:
    # One full batch per epoch (36 training images): the optimum is then a fixed point.
    config = TrainConfig.from_recipe(registry.get_recipe(model_name), dataset="synthetic_votes", input_size=16,
                                     batch_size=64, epochs=epochs, lr=5.0, augment={},
                                     dataset_options={"num_samples": 40, "image_size": 32})
    config.dataset_options = {"num_samples": 40, "image_size": 32}
    result = train(config, tmp_path / model_name, workers=0, progress=False)
    return result.last, config  # the fit itself (best: the best on the 4 validation images)


def _train_images(config: TrainConfig):
    from galaxyzoo.data.pipeline import BatchLoader
    from galaxyzoo.data.preprocessing import Preprocessing
    from galaxyzoo.workflows.train import _open_datasets

    train_set = _open_datasets(config)[0]
    loader = BatchLoader(train_set, Preprocessing.from_dict({"size": config.input_size, **config.preprocess}),
                         len(train_set), workers=0, device=torch.device("cpu"))
    batch = next(iter(loader))
    loader.close()
    return batch.images, batch.targets.numpy().astype(np.float64)


def test_mean_vote_learns_the_mean_of_the_training_fractions(tmp_path):
    best, config = _fit("mean_vote", tmp_path)
    model, _, _ = _load(best)
    images, targets = _train_images(config)
    with torch.no_grad():
        out = model.eval()(images[:2]).numpy()
    np.testing.assert_allclose(out[0], targets.mean(0), atol=2e-3)


def _load(best):
    from galaxyzoo.workflows.checkpoint import load_model

    return load_model(best)


@pytest.mark.parametrize("name, feature", [("mean_pixel_linreg", lambda x: x.mean(dim=(2, 3))),
                                           ("central_pixel_linreg", lambda x: x[:, :, x.shape[2] // 2, x.shape[3] // 2])])
def test_linear_baselines_reach_the_least_squares_fit(tmp_path, name, feature):
    best, config = _fit(name, tmp_path)
    model, _, _ = _load(best)
    images, targets = _train_images(config)
    x = feature(images.float()).numpy().astype(np.float64)
    design = np.c_[x, np.ones(len(x))]
    coef, *_ = np.linalg.lstsq(design, targets, rcond=None)
    optimum = np.sqrt(np.mean((design @ coef - targets) ** 2))
    with torch.no_grad():
        pred = model.eval()(images).numpy()
    fitted = np.sqrt(np.mean((pred - targets) ** 2))
    mean_only = np.sqrt(np.mean((targets.mean(0) - targets) ** 2))
    assert optimum <= fitted <= optimum + 0.15 * (mean_only - optimum) + 1e-3


# ---- budget fairness ------------------------------------------------------------------------

def test_epochs_for_budget_fill_the_budget():
    assert bm.epochs_for_budget(900, 10.0) == 85  # 0.95 × 900 / 10
    assert bm.epochs_for_budget(900, 2000.0) == 1
    with pytest.raises(ValueError):
        bm.epochs_for_budget(900, 0.0)


TINY = dict(input_size=16, batch_size=8, dataset_options={"num_samples": 48, "image_size": 32}, workers=0)


def test_a_budget_without_epochs_sets_the_schedule_to_span_it(tmp_path):
    run = bm.run_one("two_conv", "synthetic", 0, tmp_path, budget_s=6.0, **TINY)
    config = json.loads((tmp_path / run.run_dir / "config.json").read_text())
    assert run.planned_epochs is not None and run.probe_images_per_s > 0 and run.budget_s == 6.0
    batches = 48 // 8  # synthetic: num_samples images in each split, drop_last
    assert run.planned_epochs <= bm.epochs_for_budget(6.0, batches * 8 / run.probe_images_per_s)
    assert config["epochs"] == run.planned_epochs
    # Either the whole planned schedule ran, or the budget was spent (a busy CPU slows the run
    # after the probe, and the schedule is shortened to the epochs that still fit: what is
    # unused is a few of these 0.05 s epochs, more when test workers compete), or the
    # recipe's patience ran out.
    metrics = json.loads((tmp_path / run.run_dir / "metrics.json").read_text())
    patience_ran_out = config["patience"] is not None and run.epochs - metrics["best_epoch"] >= config["patience"]
    assert (run.epochs == run.planned_epochs or patience_ran_out
            or run.train_seconds >= 0.8 * 6.0)
    assert run.train_seconds <= 6.0 + 2.0
    # With explicit epochs the budget is only the hard stop: nothing is planned.
    fixed = bm.run_one("two_conv", "synthetic", 1, tmp_path, budget_s=60.0, epochs=2, **TINY)
    assert fixed.planned_epochs is None and fixed.epochs == 2
    # Rerunning the same (dataset, model, seed) replaces the earlier run folder.
    again = bm.run_one("two_conv", "synthetic", 1, tmp_path, budget_s=60.0, epochs=1, **TINY)
    assert again.epochs == 1 and json.loads((tmp_path / again.run_dir / "config.json").read_text())["epochs"] == 1


def test_a_fast_model_gets_more_epochs_than_its_default(tmp_path, monkeypatch):
    # Probes timed as 0.05 s per epoch + 0.01 s per 8-image batch: 800 images/s once running.
    monkeypatch.setattr(bm, "probe_seconds", lambda config, batches, **_: 0.05 + 0.01 * batches)
    config = bm.config_for("two_conv", "synthetic", 0, input_size=16, batch_size=8,
                           dataset_options={"num_samples": 400, "image_size": 32})
    assert config.epochs == 10
    epochs, speed = bm.plan_epochs(config, 60.0)
    # 50 batches per epoch: 0.55 s; one 6-batch probe alone (0.11 s) would say 436 images/s.
    assert speed == pytest.approx(800.0) and epochs == bm.epochs_for_budget(60.0, 0.55) == 103


def test_short_epochs_are_timed_whole(monkeypatch):
    # 48 images at batch 8: 6 batches an epoch, as short as the short probe. Probing 18 batches
    # could not run longer epochs than the dataset has (sharma's 2-batch epochs at batch 1024
    # timed the same twice and were planned from noise), so one probe of whole epochs is used.
    lengths = []
    monkeypatch.setattr(bm, "probe_seconds", lambda config, batches, **_: lengths.append(batches) or 0.5)
    config = bm.config_for("two_conv", "synthetic", 0, input_size=16, batch_size=8,
                           dataset_options={"num_samples": 48, "image_size": 32})
    epochs, speed = bm.plan_epochs(config, 60.0)
    assert lengths == [6] and epochs == bm.epochs_for_budget(60.0, 0.5) and speed == pytest.approx(96.0)


def test_the_probe_separates_per_epoch_from_per_batch_time(monkeypatch):
    monkeypatch.setattr(bm, "probe_seconds", lambda config, batches, **_: 1.9 + 0.385 * batches)
    cost = bm.probe_epoch_cost(object())
    assert cost.batch_s == pytest.approx(0.385) and cost.overhead_s == pytest.approx(1.9)
    assert cost.seconds(161) == pytest.approx(1.9 + 161 * 0.385)
    # Noise that makes the long probe no slower than the short one still gives a usable time.
    monkeypatch.setattr(bm, "probe_seconds", lambda config, batches, **_: 3.0)
    cost = bm.probe_epoch_cost(object())
    assert cost.batch_s > 0 and cost.overhead_s >= 0


# ---- leaderboard ----------------------------------------------------------------------------

def _run(model, seed, acc, recall, dataset="gz2_zhu5"):
    cm = [[int(10 * r), 10 - int(10 * r), 0, 0, 0] for r in recall]
    return bm.RunResult(dataset, model, seed, f"runs/{model}/seed{seed}", "test", {"accuracy": acc}, 100, 3, 5.0,
                        20.0, 50.0, details={"recall_per_class": recall, "confusion_matrix": cm})


def test_leaderboard_has_anchor_recall_confusion_and_reported_columns(tmp_path):
    runs = [_run("gz2_zhu5", 0, 0.9, [1.0, 0.9, 0.2, 0.8, 0.9]), _run("gz2_zhu5", 1, 0.8, [0.8, 0.9, 0.4, 0.8, 0.9])]
    rows = bm.aggregate(runs)
    assert rows[0].details["recall_per_class"][2] == pytest.approx(0.3)
    assert rows[0].details["confusion_matrix"][0][0] == 18  # summed over seeds
    assert "95.21%" in rows[0].reported
    paths = bm.write_leaderboard(rows, runs, tmp_path, {"budget_minutes": 15})
    md = paths["md"].read_text()
    assert "*Zhu et al. 2019 ResNet variant (paper)*" in md and "0.9521" in md and "0.5862" in md
    assert "recall cigar" in md and "| 0.3000 |" in md and "Confusion matrices" in md
    table = list(csv.DictReader(paths["csv"].open()))
    assert [r["anchor"] for r in table] == ["1", "0"]
    assert float(table[0]["recall_cigar"]) == pytest.approx(0.5862) and table[1]["epochs"] == "3"
    assert json.loads(paths["json"].read_text())["anchors"][0]["metrics"]["accuracy"][0] == 0.9521


def test_a_second_command_keeps_the_runs_it_does_not_redo(tmp_path):
    first = [_run("a", 0, 0.5, [0.5] * 5), _run("b", 0, 0.6, [0.6] * 5)]
    bm.write_leaderboard(bm.aggregate(first), first, tmp_path, {})
    redo = [_run("b", 0, 0.7, [0.7] * 5)]
    kept = bm.previous_runs(tmp_path, redo)
    assert [(r.model, r.metrics["accuracy"]) for r in kept] == [("a", 0.5)]
    assert kept[0].details["recall_per_class"] == [0.5] * 5


def test_vote_recipes_on_the_five_classes_get_classification_metrics_and_a_plain_head():
    config = bm.config_for("dieleman", "gz2_zhu5", 0)
    assert config.metrics == bm.BENCHMARK_METRICS["classification"] and "recall_per_class" in config.metrics
    assert "head" not in config.model_options and "head_activation" not in config.model_options
    votes = bm.config_for("dieleman", "gz2_votes", 0)
    assert votes.metrics == ("rmse", "rmse_per_question") and votes.model_options["head"] == "tree"
    assert bm.config_for("gz2_zhu5", "gz2_zhu5", 0).loss == "balanced"
