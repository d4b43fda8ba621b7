"""Checkpoints: atomic, complete-or-ignored, never unpickled, exact optimiser round trip."""
from __future__ import annotations

import json
import os
import pickle

import numpy as np
import pytest
import torch

import galaxyzoo
from galaxyzoo.atomic import atomic_symlink
from galaxyzoo.workflows import checkpoint as ckpt


def test_split_and_join_round_trip_nested_state():
    state = {
        "optimizer": {"state": {0: {"step": torch.tensor(3.0), "exp_avg": torch.randn(2, 3)}},
                      "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0]}]},
        "rng": {"keys": np.arange(5, dtype=np.uint32), "gauss": None, "flag": True},
        "history": [{"epoch": 1, "val_accuracy": 0.5}],
    }
    tensors, skeleton = ckpt.split_tensors(state)
    json.dumps(skeleton)  # the skeleton is plain JSON
    back = ckpt.join_tensors(json.loads(json.dumps(skeleton)), tensors)
    opt = back["optimizer"]
    assert list(opt["state"]) == [0]  # integer parameter ids survive JSON
    torch.testing.assert_close(opt["state"][0]["exp_avg"], state["optimizer"]["state"][0]["exp_avg"])
    assert opt["param_groups"][0]["betas"] == [0.9, 0.999]
    assert back["rng"]["keys"].dtype == np.uint32 and back["rng"]["keys"].tolist() == [0, 1, 2, 3, 4]
    assert back["rng"]["gauss"] is None and back["history"] == state["history"]


def test_split_refuses_objects_json_cannot_hold():
    with pytest.raises(TypeError, match="cannot store"):
        ckpt.split_tensors({"fn": object()})


def test_optimizer_and_scheduler_round_trip_continue_bit_for_bit():
    def setup():
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.Linear(8, 2))
        opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 / (1 + s))
        return model, opt, sched

    def steps(model, opt, sched, seeds):
        for s in seeds:
            g = torch.Generator().manual_seed(s)
            loss = model(torch.randn(8, 4, generator=g)).square().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()

    model, opt, sched = setup()
    steps(model, opt, sched, range(6))
    reference = {k: v.clone() for k, v in model.state_dict().items()}

    model, opt, sched = setup()
    steps(model, opt, sched, range(3))
    tensors, skeleton = ckpt.split_tensors({"opt": opt.state_dict(), "sched": sched.state_dict()})
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    state = ckpt.join_tensors(json.loads(json.dumps(skeleton)), tensors)
    model, opt, sched = setup()
    model.load_state_dict(weights)
    opt.load_state_dict(state["opt"])
    sched.load_state_dict(state["sched"])
    steps(model, opt, sched, range(3, 6))
    for key, value in model.state_dict().items():
        assert torch.equal(value, reference[key]), key


def write_simple(directory, epoch=1):
    weights = {"w": torch.arange(6.0).reshape(2, 3), "n": torch.tensor(7)}
    meta = {"model": "none", "epoch": epoch}
    state = {"epoch": epoch, "rng": torch.Generator().manual_seed(epoch).get_state()}
    return ckpt.write_checkpoint(directory, weights, meta, state)


def test_write_and_read_checkpoint(tmp_path):
    directory = write_simple(tmp_path / "c")
    names = sorted(os.listdir(directory))
    assert names == sorted([ckpt.MARKER, ckpt.MODEL_FILE, ckpt.META_FILE, ckpt.STATE_TENSORS, ckpt.STATE_JSON])
    marker = json.loads((directory / ckpt.MARKER).read_text())
    assert set(marker["files"]) == set(names) - {ckpt.MARKER}
    meta, weights, state = ckpt.read_checkpoint(directory, with_state=True)
    assert meta["format"] == ckpt.FORMAT and meta["epoch"] == 1
    assert torch.equal(weights["w"], torch.arange(6.0).reshape(2, 3)) and int(weights["n"]) == 7
    assert state["epoch"] == 1
    assert torch.equal(state["rng"], torch.Generator().manual_seed(1).get_state())


def test_incomplete_checkpoint_is_rejected(tmp_path):
    directory = write_simple(tmp_path / "c")
    (directory / ckpt.MARKER).unlink()
    with pytest.raises(ckpt.CheckpointError, match="incomplete"):
        ckpt.read_checkpoint(directory)


def test_modified_file_fails_its_checksum(tmp_path):
    directory = write_simple(tmp_path / "c")
    meta = json.loads((directory / ckpt.META_FILE).read_text())
    meta["epoch"] = 99
    (directory / ckpt.META_FILE).write_text(json.dumps(meta))
    with pytest.raises(ckpt.CheckpointError, match="checksum"):
        ckpt.read_checkpoint(directory)


class _Tripwire:
    """Unpickling this creates a file: proof that a loader ran pickle."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_pickle_disguised_as_safetensors_is_rejected_unopened(tmp_path):
    directory = write_simple(tmp_path / "c")
    tripwire = tmp_path / "unpickled"
    (directory / ckpt.MODEL_FILE).write_bytes(pickle.dumps(_Tripwire(str(tripwire))))
    with pytest.raises(ckpt.CheckpointError, match="not a valid safetensors file"):
        ckpt.read_checkpoint(directory)
    assert not tripwire.exists()


def test_resolve_run_directory_and_errors(tmp_path):
    run = tmp_path / "run"
    saved = write_simple(ckpt.epoch_dir(run, 2), epoch=2)
    atomic_symlink(run / "best", saved)
    assert ckpt.resolve(run) == saved.resolve()
    assert ckpt.run_dir_of(saved) == run
    with pytest.raises(ckpt.CheckpointError, match="no such checkpoint"):
        ckpt.resolve(tmp_path / "nowhere")
    (tmp_path / "file.pt").write_bytes(b"x")
    with pytest.raises(ckpt.CheckpointError, match="is a directory"):
        ckpt.resolve(tmp_path / "file.pt")


def test_find_latest_ignores_orphans_and_prune_keeps_what_is_asked(tmp_path):
    run = tmp_path / "run"
    first = write_simple(ckpt.epoch_dir(run, 1), epoch=1)
    second = write_simple(ckpt.epoch_dir(run, 2), epoch=2)
    orphan = ckpt.epoch_dir(run, 3)  # a save killed before its marker
    orphan.mkdir()
    (orphan / ckpt.MODEL_FILE).write_bytes(b"half")
    assert ckpt.find_latest(run) == second
    ckpt.prune(run, {first})
    assert sorted(p.name for p in (run / ckpt.EPOCH_DIRS).iterdir()) == ["epoch-0001"]


def test_load_model_rebuilds_through_the_registry(tmp_path):
    torch.manual_seed(0)
    model = galaxyzoo.create_model("two_conv", num_outputs=4, input_size=32)
    meta = {"model": "two_conv", "model_options": {}, "num_outputs": 4, "in_chans": 3, "input_size": 32}
    directory = ckpt.write_checkpoint(tmp_path / "c", model.state_dict(), meta)
    loaded, meta_back, where = ckpt.load_model(directory)
    assert where == directory.resolve() and not loaded.training
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model.eval()(x))
    meta["model"] = "dense_mlp"  # the weights do not fit another architecture
    ckpt.write_checkpoint(tmp_path / "d", model.state_dict(), meta)
    with pytest.raises(ckpt.CheckpointError, match="do not fit"):
        ckpt.load_model(tmp_path / "d")
