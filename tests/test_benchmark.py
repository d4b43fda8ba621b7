"""`galaxyzoo benchmark`: two models, one seed, a tiny budget → leaderboard files and rows."""
from __future__ import annotations

import csv
import json
import re

import pytest

from galaxyzoo.workflows.benchmark import RunResult, aggregate, write_leaderboard
from galaxyzoo.cli import main

TINY = ["--dataset-opt", "num_samples=48", "--dataset-opt", "image_size=48", "--size", "32",
        "--batch-size", "8", "--workers", "0", "--quiet"]


def test_cli_writes_a_leaderboard_with_a_row_per_model(tmp_path, capsys):
    out = tmp_path / "bench"
    code = main(["benchmark", "--models", "two_conv,dense_mlp", "--datasets", "synthetic", "--seeds", "3",
                 "--epochs", "50", "--budget-minutes", "0.02", "--out", str(out), *TINY])
    assert code == 0
    printed = capsys.readouterr().out
    assert "leaderboard:" in printed
    # One seed: the summary shows the value alone, as leaderboard.md does (its spread is unknown).
    assert re.search(r"accuracy [01]\.\d{4}  \(", printed) and "±" not in printed

    rows = list(csv.DictReader((out / "leaderboard.csv").open()))
    assert sorted(r["model"] for r in rows) == ["dense_mlp", "two_conv"]
    assert all(r["dataset"] == "synthetic" and r["seeds"] == "3" for r in rows)
    for r in rows:
        assert 0 <= float(r["accuracy_mean"]) <= 1 and float(r["accuracy_std"]) == 0
        assert int(r["params"]) > 0 and float(r["train_images_per_s"]) > 0 and float(r["infer_images_per_s"]) > 0
    accuracies = [float(r["accuracy_mean"]) for r in rows]
    assert accuracies == sorted(accuracies, reverse=True)  # best first

    data = json.loads((out / "leaderboard.json").read_text())
    assert len(data["rows"]) == 2 and len(data["runs"]) == 2
    for run in data["runs"]:
        # The 1.2 s budget stops 50 epochs long before the end (at most one epoch overshoots it).
        assert run["run_dir"] == f"runs/synthetic/{run['model']}/seed3"
        assert run["epochs"] < 50 and run["train_seconds"] < 1.2 + 5
        history = json.loads((out / run["run_dir"] / "metrics.json").read_text())["epochs"]
        assert sum(e["train_images"] for e in history) > 0
    assert data["settings"]["budget_minutes"] == 0.02

    md = (out / "leaderboard.md").read_text()
    assert "| two_conv |" in md and "| dense_mlp |" in md
    for link in ("learning_curves.png", "eval-test/confusion_matrix.png", "plots/synthetic-accuracy-vs-time.png"):
        assert link in md
    assert (out / "plots" / "synthetic-accuracy-vs-time.png").stat().st_size > 0
    for run in data["runs"]:
        assert (out / run["run_dir"] / "learning_curves.png").is_file()

    # Another command adds a seed: the runs already there are kept, the settings name every seed.
    assert main(["benchmark", "--models", "two_conv", "--datasets", "synthetic", "--seeds", "4", "--epochs", "2",
                 "--budget-minutes", "0.02", "--out", str(out), "--quiet", *TINY]) == 0
    data = json.loads((out / "leaderboard.json").read_text())
    assert data["settings"]["seeds"] == [3, 4] and len(data["runs"]) == 3
    assert "seeds = [3, 4]" in (out / "leaderboard.md").read_text()


def test_unknown_names_fail_before_any_training(tmp_path, capsys):
    assert main(["benchmark", "--models", "two_conv,nosuchnet", "--datasets", "synthetic",
                 "--out", str(tmp_path / "b"), "--quiet"]) == 2
    assert "nosuchnet" in capsys.readouterr().err and not (tmp_path / "b").exists()


def test_aggregate_gives_mean_and_sample_std_over_seeds():
    runs = [RunResult("d", "m", seed, f"r{seed}", "test", {"rmse": value}, 10, 1, 2.0, 5.0, 7.0)
            for seed, value in enumerate([0.1, 0.2, 0.3])]
    runs.append(RunResult("d", "n", 0, "x", "test", {"rmse": 0.05}, 20, 1, 1.0, 5.0, 7.0))
    rows = aggregate(runs)
    assert [r.model for r in rows] == ["n", "m"]  # lower RMSE ranks first
    mean, std = rows[1].metrics["rmse"]
    assert mean == pytest.approx(0.2) and std == pytest.approx(0.1)


def test_markdown_gives_mean_and_std_only_where_there_are_several_seeds(tmp_path):
    runs = [RunResult("d", "m", seed, f"r{seed}", "test", {"rmse": value}, 10, 1, 2.0, 5.0, 7.0)
            for seed, value in enumerate([0.1, 0.2, 0.3])]
    runs.append(RunResult("d", "n", 0, "x", "test", {"rmse": 0.05}, 20, 1, 1.0, 5.0, 7.0))
    write_leaderboard(aggregate(runs), runs, tmp_path, {"seeds": [0, 1, 2]})
    lines = (tmp_path / "leaderboard.md").read_text().splitlines()
    assert next(line for line in lines if line.startswith("| m |")).startswith("| m | 0.2000 ± 0.1000 |")
    assert next(line for line in lines if line.startswith("| n |")).startswith("| n | 0.0500 | 20 |")


def test_rank_by_orders_rows_by_the_chosen_metric():
    runs = [RunResult("d", "a", 0, "a", "test", {"accuracy": 0.9, "balanced_accuracy": 0.5}, 1, 1, 1.0, 1.0, 1.0),
            RunResult("d", "b", 0, "b", "test", {"balanced_accuracy": 0.8, "accuracy": 0.7}, 1, 1, 1.0, 1.0, 1.0)]
    assert [r.model for r in aggregate(runs)] == ["a", "b"]  # the first shared metric: accuracy
    assert [r.model for r in aggregate(runs, "balanced_accuracy")] == ["b", "a"]
    with pytest.raises(ValueError, match="rank by"):
        aggregate(runs, "rmse")


def test_tta_option_reaches_the_evaluation_of_every_run(tmp_path):
    out = tmp_path / "bench"
    code = main(["benchmark", "--models", "two_conv", "--datasets", "synthetic", "--epochs", "1",
                 "--tta", "4", "--out", str(out), *TINY])
    assert code == 0
    data = json.loads((out / "leaderboard.json").read_text())
    assert data["settings"]["tta"] == 4
    evaluation = json.loads((out / data["runs"][0]["run_dir"] / "eval-test" / "metrics.json").read_text())
    assert evaluation["tta"] == 4


def test_tta_must_be_a_supported_view_count(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["benchmark", "--models", "two_conv", "--datasets", "synthetic", "--tta", "3", "--out", str(tmp_path)])
    assert "--tta" in capsys.readouterr().err
