"""galaxyzoo.atomic: the one write-then-rename sequence every writer uses."""
from __future__ import annotations

import json
import os

import pytest

from galaxyzoo.atomic import atomic_open, atomic_symlink, atomic_write_bytes, atomic_write_json


def test_atomic_write_replaces_and_leaves_no_temporary_files(tmp_path):
    target = tmp_path / "a.json"
    atomic_write_json(target, {"x": 1})
    atomic_write_json(target, {"x": 2})
    assert json.loads(target.read_text()) == {"x": 2}
    assert os.listdir(tmp_path) == ["a.json"]
    assert oct(target.stat().st_mode & 0o777) != oct(0o600)  # a normal file's mode, not mkstemp's
    with pytest.raises(TypeError):
        atomic_write_bytes(target, "not bytes")
    assert os.listdir(tmp_path) == ["a.json"] and json.loads(target.read_text()) == {"x": 2}


def test_atomic_open_replaces_only_when_the_block_succeeds(tmp_path):
    target = tmp_path / "table.csv"
    target.write_bytes(b"old\n")
    with pytest.raises(RuntimeError):
        with atomic_open(target) as f:
            f.write(b"half of the new")
            assert os.path.dirname(f.name) == str(tmp_path) and f.name != str(target)
            raise RuntimeError("killed mid-write")
    assert target.read_bytes() == b"old\n" and os.listdir(tmp_path) == ["table.csv"]
    with atomic_open(target) as f:
        f.write(b"new\n")
        f.flush()
        with open(f.name, "rb") as again:  # the temporary file can be read back before the rename
            assert again.read() == b"new\n"
        assert target.read_bytes() == b"old\n"
    assert target.read_bytes() == b"new\n" and os.listdir(tmp_path) == ["table.csv"]


def test_atomic_symlink_points_relative(tmp_path):
    target = tmp_path / "checkpoints" / "epoch-0001"
    target.mkdir(parents=True)
    atomic_symlink(tmp_path / "last", target)
    assert os.readlink(tmp_path / "last") == os.path.join("checkpoints", "epoch-0001")
