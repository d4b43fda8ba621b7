"""Issue 12, classes 8 and 9: malformed checkpoints (checksums redone, so only validation can
catch them) and resuming after the run's settings changed: one clear error, never a traceback,
a hang or an allocation of absurd size."""
from __future__ import annotations

import hashlib
import json
import os
import signal

import pytest

from galaxyzoo.errors import CheckpointError, UserError
from galaxyzoo.workflows import checkpoint
from galaxyzoo.workflows.train import train
from galaxyzoo.workflows.train_config import TrainConfig


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    config = TrainConfig(model="two_conv", dataset="synthetic", input_size=16, epochs=2, batch_size=8,
                         dataset_options={"num_samples": 16, "image_size": 32})
    folder = tmp_path_factory.mktemp("run") / "run"
    train(config, folder, workers=0, progress=False, stop_after_epoch=1)
    return folder


def _tampered(src, dst, **changes):
    """A copy of checkpoint ``src`` with meta.json changed and its checksum redone."""
    import shutil
    shutil.copytree(src, dst)
    meta = json.loads((dst / "meta.json").read_text())
    for key, value in changes.items():
        if value is ...:
            meta.pop(key)
        else:
            meta[key] = value
    data = json.dumps(meta).encode()
    (dst / "meta.json").write_bytes(data)
    marker = json.loads((dst / "COMPLETE").read_text())
    marker["files"]["meta.json"] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    (dst / "COMPLETE").write_text(json.dumps(marker))
    return dst


@pytest.mark.parametrize("changes", [
    {"num_outputs": 10**12}, {"input_size": 10**9}, {"in_chans": -1}, {"num_outputs": "4"},
    {"model_options": {"hidden": 10**12}}, {"model_options": {"no_such": 1}}, {"model_options": [1]},
    {"task": {"kind": "classification", "outputs": ["a"]}}, {"task": None}, {"model": 3},
    {"model": "no_such_model"}, {"input_size": True}, {"preprocessing": ...},
], ids=lambda c: "-".join(f"{k}={str(v)[:12]}" for k, v in c.items()))
def test_malformed_metadata_is_one_clear_error(run, tmp_path, changes):
    bad = _tampered(checkpoint.find_latest(run), tmp_path / "ckpt", **changes)
    with pytest.raises(UserError):
        checkpoint.load_model(bad)


def test_a_fifo_in_place_of_the_weights_is_refused_not_waited_on(run, tmp_path):
    import shutil
    bad = tmp_path / "ckpt"
    shutil.copytree(checkpoint.find_latest(run), bad)
    (bad / "model.safetensors").unlink()
    os.mkfifo(bad / "model.safetensors")
    signal.alarm(30)  # a hang fails the test
    try:
        with pytest.raises(CheckpointError, match="not a regular file"):
            checkpoint.load_model(bad)
    finally:
        signal.alarm(0)


@pytest.mark.parametrize("field,value", [("batch_size", 4), ("lr", 0.5), ("input_size", 24), ("seed", 3),
                                         ("batch_size", "abc"), ("epochs", [2])])
def test_resume_after_the_settings_changed_is_refused_naming_the_field(run, tmp_path, field, value):
    import shutil
    folder = tmp_path / "run"
    shutil.copytree(run, folder, symlinks=True)
    config = json.loads((folder / "config.json").read_text())
    config[field] = value
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(UserError, match="config.json|" + field):
        train(None, folder, resume=True, workers=0, progress=False)


def test_unchanged_settings_resume(run, tmp_path):
    import shutil
    folder = tmp_path / "run"
    shutil.copytree(run, folder, symlinks=True)
    result = train(None, folder, resume=True, workers=0, progress=False)
    assert len(result.history) == 2
