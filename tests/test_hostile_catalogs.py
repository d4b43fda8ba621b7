"""Issue 12, class 5 (catalogs) and class 3 for evaluate: labels outside the class list are
reported rows, not new classes; training reports every row its reader left out (stdout, the
run folder, the metadata); path-column paths stay inside the root unless allowed; a UTF-8 BOM is
accepted by every catalog reader; evaluate over odd folder entries counts each once and never
hangs."""
from __future__ import annotations

import csv
import json
import os
import shutil

import pytest

from galaxyzoo import registry
from galaxyzoo.data.bad_inputs import encode, galaxy_like
from galaxyzoo.data.shards import read_manifest
from galaxyzoo.errors import UserError
from galaxyzoo.workflows import checkpoint
from galaxyzoo.workflows.evaluate import evaluate_checkpoint
from galaxyzoo.workflows.train import train
from galaxyzoo.workflows.train_config import TrainConfig


pytestmark = pytest.mark.usefixtures("no_hang")


def _catalog(root, rows, header="id,label,split", images=None, bom=False):
    """A catalog folder: images/<id>.jpg for ``images`` (default: every row's id) and labels.csv."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    for i, ident in enumerate(images if images is not None else [r.split(",")[0] for r in rows]):
        if ident:
            (root / "images" / f"{ident}.jpg").write_bytes(encode(galaxy_like(48, 48, seed=i)))
    text = "\n".join([header, *rows]) + "\n"
    (root / "labels.csv").write_bytes(("\ufeff" if bom else "").encode() + text.encode())
    return root


def _clean_rows(n=16):
    return [f"g{i},{'ab'[i % 2]},{'train' if i < n - 4 else 'val'}" for i in range(n)]


@pytest.mark.parametrize("classes", [["a", "b"], "a,b"])
def test_labels_outside_the_class_list_are_reported_rows_not_new_classes(tmp_path, classes):
    root = _catalog(tmp_path / "c", _clean_rows() + ["x1,c,train", "x2,spiral?,val", "x3,a,train"])
    data = registry.create_dataset("catalog", split="train", root=root, classes=classes)
    assert data.task.outputs == ("a", "b")
    bad = sorted((p.item, p.reason) for p in data.problems)
    assert bad == [("x1", "bad_label"), ("x2", "bad_label")]
    assert "x3" in data.ids and "x1" not in data.ids
    # Without the list, the stray labels would have become classes: that stays the default.
    assert registry.create_dataset("catalog", split="train", root=root).task.outputs == ("a", "b", "c", "spiral?")
    for wrong in (["a", "a"], ["a", ""], [], "a,,b"):
        with pytest.raises(ValueError, match="classes"):
            registry.create_dataset("catalog", split="train", root=root, classes=wrong)


def test_training_reports_every_dropped_row(tmp_path, capsys):
    rows = _clean_rows() + [
        "g3,a,train",  # duplicate_id
        ",a,train",  # missing_id
        "nofile,a,train",  # missing (no image)
        "e1,,train",  # missing_label in a labelled split
        "c1,c,train",  # bad_label: outside the class list
        "s1,a,",  # missing_split
    ]
    images = [r.split(",")[0] for r in rows if r.split(",")[0] not in ("nofile",)]
    root = _catalog(tmp_path / "c", rows, images=images)
    config = TrainConfig(model="two_conv", dataset="catalog", dataset_root=str(root), input_size=16, epochs=1,
                         batch_size=4, dataset_options={"classes": ["a", "b"]})
    result = train(config, tmp_path / "run", workers=0, progress=False)
    want = {"bad_label": 1, "duplicate_id": 1, "missing": 1, "missing_id": 1, "missing_label": 1, "missing_split": 1}
    out = capsys.readouterr().out
    line = next(l for l in out.splitlines() if l.startswith("dropped"))
    assert line.startswith("dropped 6 input rows (") and "dropped_rows.csv" in line
    assert all(f"{reason} {n}" in line for reason, n in want.items())
    with open(tmp_path / "run" / "dropped_rows.csv", newline="", encoding="utf-8") as f:
        listed = list(csv.DictReader(f))
    assert sorted(r["reason"] for r in listed) == sorted(want)
    assert {r["source"] for r in listed} == {f"labels.csv:{n}" for n in range(18, 24)}
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["dropped_rows"] == want
    meta, _, _ = checkpoint.read_checkpoint(result.best)
    assert meta["dropped_rows"] == want and meta["task"]["outputs"] == ["a", "b"]
    # A clean catalog: no list, an empty count.
    clean = _catalog(tmp_path / "clean", _clean_rows())
    train(TrainConfig(model="two_conv", dataset="catalog", dataset_root=str(clean), input_size=16, epochs=1,
                      batch_size=4), tmp_path / "run2", workers=0, progress=False)
    assert not (tmp_path / "run2" / "dropped_rows.csv").exists()
    assert json.loads((tmp_path / "run2" / "metrics.json").read_text())["dropped_rows"] == {}
    assert "dropped" not in capsys.readouterr().out


def test_path_column_paths_stay_inside_the_root(tmp_path):
    root = tmp_path / "c"
    (root / "img").mkdir(parents=True)
    for name in ("a", "b"):
        (root / "img" / f"{name}.jpg").write_bytes(encode(galaxy_like(48, 48)))
    (tmp_path / "secret.jpg").write_bytes(encode(galaxy_like(48, 48, seed=9)))
    os.symlink(tmp_path / "secret.jpg", root / "img" / "link.jpg")  # inside by name, outside in fact
    os.symlink("a.jpg", root / "img" / "alias.jpg")  # a link that stays inside: fine
    opts = dict(split="train", root=root, path_column="file", split_column=None, fractions=(1, 0, 0))
    (root / "labels.csv").write_text("id,label,file\na,x,img/a.jpg\nb,y,img/alias.jpg\n")
    assert registry.create_dataset("catalog", **opts).ids == ["a", "b"]
    for value in ("../secret.jpg", str(tmp_path / "secret.jpg"), "img/link.jpg", "img/../../secret.jpg"):
        (root / "labels.csv").write_text(f"id,label,file\na,x,img/a.jpg\nb,y,{value}\n")
        with pytest.raises(UserError, match="line 3.*outside"):
            registry.create_dataset("catalog", **opts)
        allowed = registry.create_dataset("catalog", allow_outside_paths=True, **opts)
        assert allowed.ids == ["a", "b"]


def test_a_utf8_bom_is_accepted_by_every_catalog_reader(tmp_path):
    root = _catalog(tmp_path / "c", _clean_rows(), bom=True)
    plain = _catalog(tmp_path / "p", _clean_rows())
    for split in ("train", "val"):
        with_bom = registry.create_dataset("catalog", split=split, root=root, id_column="id")
        assert with_bom.ids == registry.create_dataset("catalog", split=split, root=plain, id_column="id").ids
        assert not with_bom.problems
    from galaxyzoo.data.catalogs import catalog_images
    assert [i for i, _ in catalog_images(root / "labels.csv", root / "images", "id")] == [f"g{i}" for i in range(16)]
    folder = tmp_path / "shards"
    folder.mkdir()
    (folder / "manifest.csv").write_bytes("\ufeffid,path,status\na,a.jpg,ok\n".encode())
    assert read_manifest(folder) == [{"id": "a", "path": "a.jpg", "status": "ok"}]


def _odd_entries(images):
    """Replace the test images t0..t3 with a dangling symlink, a FIFO, a folder and an empty file,
    and add an unreferenced file whose name is not UTF-8: one excluded entry each."""
    for name in ("t0", "t1", "t2", "t3"):
        (images / f"{name}.jpg").unlink()
    os.symlink("nowhere.jpg", images / "t0.jpg")
    os.mkfifo(images / "t1.jpg")
    (images / "t2.jpg").mkdir()
    (images / "t3.jpg").write_bytes(b"")
    with open(os.path.join(os.fsencode(images), b"bad\xffname.jpg"), "wb") as f:
        f.write(encode(galaxy_like(48, 48)))
    return {"t0": "missing", "t1": "unreadable", "t2": "unreadable", "t3": "empty"}


def test_evaluate_over_odd_entries_excludes_each_once_and_never_hangs(tmp_path):
    rows = _clean_rows() + [f"t{i},{'ab'[i % 2]},test" for i in range(8)]
    root = _catalog(tmp_path / "c", rows)
    config = TrainConfig(model="two_conv", dataset="catalog", dataset_root=str(root), input_size=16, epochs=1,
                         batch_size=4)
    best = train(config, tmp_path / "run", workers=0, progress=False).best
    # The same catalog in a folder whose name is not UTF-8, so every path is not either.
    odd_root = tmp_path / os.fsdecode(b"c\xff")
    shutil.copytree(root, odd_root)
    for where, out in [(root, "e0"), (odd_root, "e1")]:
        expected = _odd_entries(where / "images")
        result = evaluate_checkpoint(best, root=str(where), workers=0, device="cpu", progress=False,
                                     out_dir=tmp_path / out)
        assert (result.samples, result.excluded) == (4, 4)
        saved = json.loads((tmp_path / out / "metrics.json").read_text(encoding="utf-8"))
        assert {e["id"]: e["reason"] for e in saved["excluded_inputs"]} == expected
        assert saved["excluded"] == 4 and saved["samples"] == 4
    assert any("\\xff" in e["path"] for e in saved["excluded_inputs"])  # shown as \xNN, valid UTF-8 JSON
