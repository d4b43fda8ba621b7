"""Issue 12, classes 2, 3, 4 and 7: odd filesystem entries, stale ingest output, two writers
on one output, and predict's output checks. Every entry of a hostile folder gets exactly one
row with a reason; nothing blocks on a FIFO (an alarm turns a hang into a failure); the good
files' outputs are the same as without the hostile ones."""
from __future__ import annotations

import csv
import os
import stat
import subprocess
import sys

import numpy as np
import pytest

from galaxyzoo.data.bad_inputs import encode, galaxy_like
from galaxyzoo.data.inputs import walk_images
from galaxyzoo.data.shards import ShardDataset, read_manifest
from galaxyzoo.errors import UserError
from galaxyzoo.workflows import guards
from galaxyzoo.workflows.ingest import IngestOptions, ingest
from galaxyzoo.workflows.predict import predict_files
from galaxyzoo.workflows.train import train
from galaxyzoo.workflows.train_config import TrainConfig

SIZE = 24
OPTS = IngestOptions(size=SIZE, shard_size=4)


pytestmark = pytest.mark.usefixtures("no_hang")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    config = TrainConfig(model="two_conv", dataset="synthetic", input_size=SIZE, epochs=1, batch_size=8,
                         dataset_options={"num_samples": 16, "image_size": 48})
    return train(config, tmp_path_factory.mktemp("run") / "run", workers=0, progress=False).best


def _good(folder, names):
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        with open(os.path.join(os.fsencode(folder), name), "wb") as f:
            f.write(encode(galaxy_like(48, 48, seed=i)))


GOOD = [b"a.jpg", b"b.jpg", b"bad\xffname.jpg"]  # the last is not UTF-8


def hostile_corpus(folder):
    """Good files plus one of each odd entry; returns {entry name: expected status or reason}."""
    _good(folder, GOOD)
    (folder / "sub.jpg").mkdir()  # a folder named like an image: walked
    (folder / "sub.jpg" / "c.jpg").write_bytes(encode(galaxy_like(48, 48, seed=7)))
    os.symlink("nowhere.jpg", folder / "dangling.jpg")
    os.symlink("selfloop.jpg", folder / "selfloop.jpg")
    os.symlink(".", folder / "loop")  # a folder linking back up
    os.mkfifo(folder / "fifo.jpg")
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.txt").write_text("not an image name: ignored, as before")
    expected = {"a": "ok", "b": "ok", "bad\\xffname": "ok", "c": "ok", "dangling": "missing",
                "selfloop": "unreadable", "loop": "unreadable", "fifo": "unreadable", "empty": "empty"}
    try:
        os.mknod(folder / "dev.jpg", 0o600 | stat.S_IFCHR, os.makedev(1, 3))  # /dev/null
        expected["dev"] = "unreadable"
    except (OSError, AttributeError):
        pass
    return expected


def _status(row):
    return "ok" if row["status"] == "ok" else row["error"].split(":")[0]


def test_hostile_folder_through_ingest_one_row_each_good_crops_unchanged(tmp_path):
    expected = hostile_corpus(tmp_path / "src")
    ingest(walk_images(tmp_path / "src"), tmp_path / "out", OPTS, workers=0, progress=False)
    rows = read_manifest(tmp_path / "out")
    assert {r["id"]: _status(r) for r in rows} == expected
    assert len(rows) == len(expected)
    assert any("\\xff" in r["path"] for r in rows)  # the non-UTF-8 name, bytes as \xNN
    assert all(r["message"] or r["status"] == "ok" for r in rows)

    _good(tmp_path / "clean", GOOD)
    _good(tmp_path / "clean" / "sub.jpg", [])
    (tmp_path / "clean" / "sub.jpg" / "c.jpg").write_bytes(encode(galaxy_like(48, 48, seed=7)))
    ingest(walk_images(tmp_path / "clean"), tmp_path / "ref", OPTS, workers=0, progress=False)
    got, want = ShardDataset(tmp_path / "out"), ShardDataset(tmp_path / "ref")
    assert got.ids == want.ids
    np.testing.assert_array_equal(got.read_images(range(len(got))), want.read_images(range(len(want))))


def test_hostile_folder_through_predict_one_row_each_good_rows_unchanged(run, tmp_path):
    expected = hostile_corpus(tmp_path / "src")
    catalog = predict_files(run, [tmp_path / "src"], tmp_path / "c.csv", progress=False)
    with open(tmp_path / "c.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert catalog.rows == len(rows) == len(expected)
    assert {r["id"]: _status(r) for r in rows} == expected
    _good(tmp_path / "clean", GOOD)
    predict_files(run, [tmp_path / "clean"], tmp_path / "ref.csv", progress=False)
    with open(tmp_path / "ref.csv", newline="", encoding="utf-8") as f:
        ref = {r["id"]: r for r in csv.DictReader(f)}
    for r in rows:
        if r["id"] in ref:
            assert {k: v for k, v in r.items() if k.startswith("prob_")} == \
                   {k: v for k, v in ref[r["id"]].items() if k.startswith("prob_")}


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files and lists folders whatever their mode")
def test_unreadable_file_and_unlistable_folder_get_rows(tmp_path):
    _good(tmp_path / "src", [b"a.jpg", b"locked.jpg"])
    (tmp_path / "src" / "closed").mkdir()
    os.chmod(tmp_path / "src" / "locked.jpg", 0)
    os.chmod(tmp_path / "src" / "closed", 0)
    try:
        ingest(walk_images(tmp_path / "src"), tmp_path / "out", OPTS, workers=0, progress=False)
        got = {r["id"]: _status(r) for r in read_manifest(tmp_path / "out")}
        assert got == {"a": "ok", "locked": "unreadable", "closed": "unreadable"}
    finally:
        os.chmod(tmp_path / "src" / "closed", 0o755)


def test_stale_ingest_output_follows_the_inputs(tmp_path):
    """Class 2: files removed, added or replaced between runs: the manifest and shards always
    describe the current inputs."""
    src = tmp_path / "src"
    _good(src, [b"%d.jpg" % i for i in range(10)])
    ingest(walk_images(src), tmp_path / "out", OPTS, workers=0, progress=False)
    assert len(read_manifest(tmp_path / "out")) == 10
    for i in range(5, 10):  # removed: shard 2 (inputs 8, 9) disappears
        (src / f"{i}.jpg").unlink()
    ingest(walk_images(src), tmp_path / "out", OPTS, workers=0, progress=False)
    assert [r["id"] for r in read_manifest(tmp_path / "out")] == ["0", "1", "2", "3", "4"]
    assert not list((tmp_path / "out").glob("*-00002.*"))
    # Replaced in place (same name, another image): redone, not kept stale.
    (src / "1.jpg").write_bytes(b"")
    os.utime(src / "1.jpg", ns=(1, 1))
    ingest(walk_images(src), tmp_path / "out", OPTS, workers=0, progress=False)
    assert {r["id"]: _status(r) for r in read_manifest(tmp_path / "out")}["1"] == "empty"
    # Added.
    _good(src, [b"z.jpg"])
    ingest(walk_images(src), tmp_path / "out", OPTS, workers=0, progress=False)
    assert len(read_manifest(tmp_path / "out")) == 6 and len(ShardDataset(tmp_path / "out")) == 5


def _hold_lock(folder, name=guards.LOCK_NAME):
    """Another process holding the job lock on ``folder``, until killed."""
    code = (f"import sys, time; from galaxyzoo.workflows import guards\n"
            f"with guards.output_lock({str(folder)!r}, 'test', {name!r}):\n"
            f"    print('held', flush=True); time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_two_writers_one_folder_the_second_is_refused(run, tmp_path):
    """Class 4: ingest, predict's catalog and a training run each have one writer."""
    _good(tmp_path / "src", [b"a.jpg"])
    for folder, name, job in [
        (tmp_path / "out", guards.LOCK_NAME,
         lambda: ingest(walk_images(tmp_path / "src"), tmp_path / "out", OPTS, workers=0, progress=False)),
        (tmp_path, ".c.csv.galaxyzoo.lock",
         lambda: predict_files(run, [tmp_path / "src"], tmp_path / "c.csv", progress=False)),
        (tmp_path / "r", guards.LOCK_NAME,
         lambda: train(TrainConfig(model="two_conv", dataset="synthetic", input_size=SIZE, epochs=1,
                                   dataset_options={"num_samples": 8, "image_size": 48}),
                       tmp_path / "r", workers=0, progress=False)),
    ]:
        holder = _hold_lock(folder, name)
        try:
            with pytest.raises(UserError, match=f"in use by another galaxyzoo job \\(process {holder.pid}"):
                job()
        finally:
            holder.kill()
            holder.wait()
        job()  # once the holder is gone (even killed), the lock is free
    assert not (tmp_path / "r" / "config.json").exists() or (tmp_path / "r" / "best").exists()


def test_predict_checks_its_output_before_any_work(run, tmp_path):
    """Class 7: never overwrite an input; refuse folders, image names, non-regular outputs; the
    existing catalog survives a refused run."""
    _good(tmp_path / "src", [b"a.jpg"])
    image = tmp_path / "src" / "a.jpg"
    before = image.read_bytes()
    cases = [image, tmp_path / "src", tmp_path / "x.png"]
    os.mkfifo(tmp_path / "fifo.csv")
    cases.append(tmp_path / "fifo.csv")
    (tmp_path / "in.csv").write_text("GalaxyID\na\n")
    for out in cases:
        with pytest.raises(UserError):
            predict_files(run, [image], out, progress=False)
    with pytest.raises(UserError, match="one of the inputs"):
        predict_files(run, [tmp_path / "in.csv"], tmp_path / "in.csv", image_dir=tmp_path / "src", progress=False)
    assert image.read_bytes() == before and (tmp_path / "in.csv").read_text() == "GalaxyID\na\n"
    predict_files(run, [image], tmp_path / "ok.csv", progress=False)
    kept = (tmp_path / "ok.csv").read_bytes()
    with pytest.raises(UserError):
        predict_files(run, [image], tmp_path / "ok.csv", batch_size=0, progress=False)
    assert (tmp_path / "ok.csv").read_bytes() == kept


def test_catalog_paths_are_confined_to_the_folder_and_bom_is_accepted(tmp_path):
    """Class 5 (part): a catalog row reaching outside its folder is refused, naming the line;
    a UTF-8 BOM in the header is accepted."""
    from galaxyzoo.data.catalogs import catalog_images
    _good(tmp_path / "img", [b"a.jpg"])
    (tmp_path / "secret.jpg").write_bytes(b"x")
    (tmp_path / "ok.csv").write_bytes("\ufeffGalaxyID,file\na,a.jpg\n".encode())
    assert list(catalog_images(tmp_path / "ok.csv", tmp_path / "img", "GalaxyID", "file")) == \
        [("a", os.path.join(tmp_path / "img", "a.jpg"))]
    for value in ("../secret.jpg", str(tmp_path / "secret.jpg")):
        (tmp_path / "bad.csv").write_text(f"GalaxyID,file\na,a.jpg\nb,{value}\n")
        with pytest.raises(UserError, match="line 3.*outside"):
            list(catalog_images(tmp_path / "bad.csv", tmp_path / "img", "GalaxyID", "file"))
    (tmp_path / "bad.csv").write_text("GalaxyID\n../secret\n")
    with pytest.raises(UserError, match="outside"):
        list(catalog_images(tmp_path / "bad.csv", tmp_path / "img", "GalaxyID"))
    assert list(catalog_images(tmp_path / "bad.csv", tmp_path / "img", "GalaxyID", allow_outside=True))
