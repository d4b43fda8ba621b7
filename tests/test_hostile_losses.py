"""Issue 12 (losses) and issue 14: the Dask engine's predict checks and locks its output like
the local one; a failed catalog write keeps the finished rows; a training start that fails in
its first epoch leaves no run folder behind."""
from __future__ import annotations

import csv
import errno
import json
import os

import pytest

from galaxyzoo.data.bad_inputs import encode, galaxy_like
from galaxyzoo.errors import UserError
from galaxyzoo.workflows import guards, predict as predict_module
from galaxyzoo.workflows.predict import predict_files
from galaxyzoo.workflows.train import train
from galaxyzoo.workflows.train_config import TrainConfig

SIZE = 24


def _config(epochs=1):
    return TrainConfig(model="two_conv", dataset="synthetic", input_size=SIZE, epochs=epochs, batch_size=8,
                       dataset_options={"num_samples": 16, "image_size": 48})


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return train(_config(), tmp_path_factory.mktemp("run") / "run", workers=0, progress=False).best


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / "src"
    folder.mkdir()
    for i in range(3):
        (folder / f"g{i}.jpg").write_bytes(encode(galaxy_like(48, 48, seed=i)))
    return folder


def test_dask_predict_checks_and_locks_its_output_before_any_work(run, images, tmp_path):
    """No cluster is needed to be refused: the checks come before the client is touched."""
    from galaxyzoo.workflows.dask_engine import dask_predict

    image = images / "g0.jpg"
    before = image.read_bytes()
    os.mkfifo(tmp_path / "fifo.csv")
    (tmp_path / "in.csv").write_text("GalaxyID\ng0\n")
    for out, inputs in [(image, [image]), (images, [image]), (tmp_path / "x.png", [image]),
                        (tmp_path / "fifo.csv", [image]), (tmp_path / "in.csv", [tmp_path / "in.csv"])]:
        with pytest.raises(UserError):
            dask_predict(run, inputs, out, None, progress=False, image_dir=images)
    assert image.read_bytes() == before and (tmp_path / "in.csv").read_text() == "GalaxyID\ng0\n"
    with guards.output_lock(tmp_path, "another predict", ".c.csv.galaxyzoo.lock"):
        with pytest.raises(UserError, match="in use by another galaxyzoo job"):
            dask_predict(run, [images], tmp_path / "c.csv", None, progress=False)
    assert not (tmp_path / "c.csv").exists()


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_failed_catalog_write_keeps_the_finished_rows(run, images, tmp_path, monkeypatch, suffix):
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    predict_files(run, [images], tmp_path / "ref.csv", device="cpu", progress=False)

    real_write = predict_module.write_table

    def disk_full(frame, path, **options):  # the catalog fails; its .partial.csv rescue does not
        if not str(path).endswith(".partial.csv"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(frame, path, **options)

    monkeypatch.setattr(predict_module, "write_table", disk_full)
    out = tmp_path / f"cat{suffix}"
    with pytest.raises(UserError) as caught:
        predict_files(run, [images], out, device="cpu", progress=False)
    message = str(caught.value)
    partial = tmp_path / f"cat{suffix}.partial.csv"
    assert "\n" not in message and "No space left" in message and str(partial) in message and "3 finished rows" in message
    assert not out.exists()
    assert partial.read_bytes() == (tmp_path / "ref.csv").read_bytes()
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_a_failed_catalog_write_and_recovery_say_the_rows_are_lost(run, images, tmp_path, monkeypatch):
    def disk_full(*_, **__):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(predict_module, "write_table", disk_full)
    with pytest.raises(UserError, match="predictions are lost"):
        predict_files(run, [images], tmp_path / "c.csv", device="cpu", progress=False)


def _failing_epoch(monkeypatch, fail_at: int):
    """Make training epoch ``fail_at`` (0-based) raise, as a bug or a lost device would."""
    from galaxyzoo.workflows import train as train_module
    real = train_module._train_epoch
    calls = []

    def epoch(*args, **kwargs):
        calls.append(1)
        if len(calls) - 1 == fail_at:
            raise RuntimeError("device lost in the middle of the epoch")
        return real(*args, **kwargs)

    monkeypatch.setattr(train_module, "_train_epoch", epoch)


def test_a_start_failing_in_its_first_epoch_leaves_no_run_folder(tmp_path, monkeypatch):
    _failing_epoch(monkeypatch, 0)
    with pytest.raises(RuntimeError, match="device lost"):
        train(_config(), tmp_path / "new" / "run", workers=0, progress=False)
    assert not (tmp_path / "new").exists()
    _failing_epoch(monkeypatch, 0)
    # A folder that was there before keeps what it held, and only that.
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("the user's")
    with pytest.raises(RuntimeError, match="device lost"):
        train(_config(), tmp_path / "mine", workers=0, progress=False)
    assert os.listdir(tmp_path / "mine") == ["notes.txt"]
    monkeypatch.undo()  # the same start, now working, is not refused as "already holds a run"
    done = train(_config(), tmp_path / "mine", workers=0, progress=False)
    assert (done.run_dir / "config.json").is_file() and done.best.is_dir()


def test_a_run_failing_after_a_checkpoint_is_kept_and_resumes(tmp_path, monkeypatch):
    _failing_epoch(monkeypatch, 1)
    with pytest.raises(RuntimeError, match="device lost"):
        train(_config(epochs=2), tmp_path / "run", workers=0, progress=False)
    kept = sorted(os.listdir(tmp_path / "run"))
    assert "config.json" in kept and "last" in kept
    _failing_epoch(monkeypatch, 0)  # a resume that fails removes nothing either
    with pytest.raises(RuntimeError, match="device lost"):
        train(None, tmp_path / "run", resume=True, workers=0, progress=False)
    assert sorted(os.listdir(tmp_path / "run")) == kept
    monkeypatch.undo()
    done = train(None, tmp_path / "run", resume=True, workers=0, progress=False)
    assert [r["epoch"] for r in done.history] == [1, 2]
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["epochs"][-1]["epoch"] == 2
