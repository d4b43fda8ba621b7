"""Issue 12, class 10 (and 1): every user-reachable bad option value is exit status 2 with one
line naming the problem, before any work; a traceback anywhere is an internal error (exit 70)
and fails these tests. Diverged training is an error, never a success with a NaN "best"."""
from __future__ import annotations

import importlib.util
import math

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from galaxyzoo import cli
from galaxyzoo.cli import main
from galaxyzoo.errors import INTERNAL_ERROR_EXIT, USER_ERROR_EXIT

HYPO = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def run_cli(argv, capsys):
    # Commands other engineers are still adding to the tree may not exist yet: skip those.
    modules = tuple(m for m in cli.COMMAND_MODULES if importlib.util.find_spec(m) is not None)
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(cli, "COMMAND_MODULES", modules)
            code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def assert_user_error(argv, capsys, *names):
    code, _, err = run_cli(argv, capsys)
    assert "Traceback" not in err and code != INTERNAL_ERROR_EXIT, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == USER_ERROR_EXIT and len(lines) == 1 and "error" in lines[-1], (argv, code, err)
    for name in names:
        assert name in lines[-1], (name, lines[-1])
    return lines[-1]


def not_int(lo, hi=None):
    """Text that is not an integer in [lo, hi]: out of range, or not a number at all."""
    bad = st.integers(max_value=lo - 1) | st.text(min_size=1, max_size=6).filter(lambda t: not _is_int(t))
    if hi is not None:
        bad |= st.integers(min_value=hi + 1)
    return bad.map(str)


def _is_int(text):
    try:
        int(text)
        return True
    except ValueError:
        return False


def not_number(lo, open_low=False):
    bad = (st.floats(max_value=lo, exclude_max=not open_low) | st.sampled_from([math.nan, math.inf, -math.inf])
           ).map(repr) | st.sampled_from(["abc", "", "1e", "--"])
    return bad


TRAIN_INTS = {"--epochs": (1, 100_000), "--batch-size": (1, 1 << 16), "--size": (8, 2048),
              "--seed": (0, 2**32 - 1), "--patience": (1, None), "--limit-train": (1, None),
              "--limit-val": (1, None), "--workers": (0, 1024)}
INGEST_INTS = {"--size": (8, 2048), "--workers": (0, 1024), "--shard-size": (1, 1 << 20),
               "--threshold": (0, 255)}
PREDICT_INTS = {"--batch-size": (1, 1 << 16), "--threads": (1, 256), "--workers": (1, 1024)}
EVALUATE_INTS = {"--batch-size": (1, 1 << 16), "--limit": (1, None), "--workers": (0, 1024)}
BENCHMARK_INTS = {"--epochs": (1, 100_000), "--size": (8, 2048), "--batch-size": (1, 1 << 16),
                  "--limit-train": (1, None), "--limit-val": (1, None), "--limit-test": (1, None),
                  "--workers": (0, 1024), "--seeds": (0, 2**32 - 1)}
DEMO_INTS = {"--epochs": (1, 100_000), "--workers": (0, 1024)}
BASE = {
    "train": ["train", "--model", "two_conv", "--dataset", "synthetic"],
    "ingest": ["ingest", ".", "--out", "/nonexistent/never-written"],
    "predict": ["predict", "/nonexistent/ckpt", "x.jpg", "--out", "/nonexistent/c.csv"],
    "evaluate": ["evaluate", "/nonexistent/ckpt"],
    "benchmark": ["benchmark", "--models", "two_conv", "--datasets", "synthetic", "--out", "/nonexistent/b"],
    "demo": ["demo", "--out", "/nonexistent/d"],
}


def _option_cases():
    for command, table in (("train", TRAIN_INTS), ("ingest", INGEST_INTS), ("predict", PREDICT_INTS),
                           ("evaluate", EVALUATE_INTS), ("benchmark", BENCHMARK_INTS), ("demo", DEMO_INTS)):
        for option, (lo, hi) in table.items():
            yield command, option, not_int(lo, hi)
    yield "train", "--lr", not_number(0, open_low=True)
    yield "train", "--weight-decay", not_number(0)
    yield "ingest", "--pad", not_number(0)
    yield "benchmark", "--budget-minutes", not_number(0, open_low=True)
    for command in ("train", "evaluate", "predict", "benchmark", "demo"):
        yield command, "--device", st.text(max_size=8).filter(lambda t: t not in ("auto", "cpu", "cuda")
                                                              and not t.startswith("cuda:"))


@pytest.mark.parametrize("command,option,values", list(_option_cases()),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_any_bad_option_value_is_one_line_and_exit_2(command, option, values, capsys):
    @HYPO
    @given(values)
    def check(value):
        assert_user_error([*BASE[command], f"{option}={value}"], capsys, option)
    check()


@pytest.mark.parametrize("opt", ["width=abc", "hidden=abc", "hidden=-3", "hidden=0", "dropout=[1]",
                                 "no_such_option=1"])
def test_bad_model_options_are_one_line(opt, tmp_path, capsys):
    line = assert_user_error([*BASE["train"], "--dataset-opt", "num_samples=16", "--dataset-opt", "image_size=48",
                              "--size", "24", "--epochs", "1", "--model-opt", opt, "--workers", "0",
                              "--out", tmp_path / "run"], capsys)
    assert "two_conv" in line
    assert not (tmp_path / "run" / "config.json").exists()


@pytest.mark.parametrize("size", [8, 9])
def test_any_accepted_size_works_or_is_refused_cleanly(size, tmp_path, capsys):
    """Every --size the parser accepts either builds or is one clear line; never a traceback."""
    code, _, err = run_cli([*BASE["train"], "--model", "resnet_small", "--dataset-opt", "num_samples=8",
                            "--dataset-opt", "image_size=32", "--size", size, "--epochs", "1", "--workers", "0",
                            "--batch-size", "8", "--limit-val", "2", "--quiet", "--out", tmp_path / "r"], capsys)
    assert "Traceback" not in err and code in (0, USER_ERROR_EXIT), err


def test_bad_values_outside_argparse(tmp_path, capsys):
    """Names and files, not numbers: unknown names, missing or non-directory checkpoints."""
    (tmp_path / "file").write_text("x")
    assert_user_error(["evaluate", tmp_path / "file"], capsys)
    assert_user_error(["evaluate", tmp_path / "missing"], capsys, "missing")
    assert_user_error(["predict", tmp_path / "missing", tmp_path, "--out", tmp_path / "c.csv"], capsys)
    assert_user_error(["ingest", tmp_path / "file", "--out", tmp_path / "o"], capsys)
    assert_user_error([*BASE["train"], "--optimizer", "banana"], capsys, "banana")
    assert_user_error([*BASE["train"][:3], "--dataset", "no_such_dataset"], capsys, "no_such_dataset")


def test_diverged_training_is_an_error_not_a_nan_best(tmp_path, capsys):
    """Class 1: a learning rate that blows the weights up stops the run with one line, exit 2;
    no checkpoint of the diverged epoch exists, and no NaN checkpoint is ever loadable."""
    from galaxyzoo.errors import CheckpointError, UserError
    from galaxyzoo.workflows import checkpoint
    from galaxyzoo.workflows.train import train
    from galaxyzoo.workflows.train_config import TrainConfig

    config = TrainConfig(model="two_conv", dataset="synthetic", input_size=16, epochs=2, batch_size=4,
                         lr=1e38, optimizer="sgd", schedule="constant",
                         dataset_options={"num_samples": 16, "image_size": 32})
    with pytest.raises(UserError, match="diverged"):
        train(config, tmp_path / "run", workers=0, progress=False)
    latest = checkpoint.find_latest(tmp_path / "run")
    if latest is not None:  # an earlier finite epoch may be kept, and it must load
        checkpoint.load_model(latest)
    # A checkpoint whose weights are not finite is refused for inference (checksums redone).
    import torch
    from galaxyzoo.registry import create_model
    net = create_model("two_conv", num_outputs=4, in_chans=3, input_size=16)
    state = {k: torch.full_like(v, math.nan) if v.is_floating_point() else v for k, v in net.state_dict().items()}
    meta = {"model": "two_conv", "model_options": {}, "num_outputs": 4, "in_chans": 3, "input_size": 16,
            "task": {"kind": "classification", "outputs": list("abcd")}, "preprocessing": {"size": 16}}
    bad = checkpoint.write_checkpoint(tmp_path / "nan", state, meta)
    with pytest.raises(CheckpointError, match="NaN"):
        checkpoint.load_model(bad)
