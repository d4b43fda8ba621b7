"""Real-data readers on tiny fixtures written here in each published format."""
from __future__ import annotations

import csv
import pickle

import h5py
import numpy as np
import pytest

from galaxyzoo.data.bad_inputs import encode, galaxy_like
from galaxyzoo.data.decode import decode_image
from galaxyzoo.data.problems import count_reasons
from galaxyzoo.errors import DatasetNotFoundError
from galaxyzoo.gz2.tree import COLUMNS
from galaxyzoo.specs import resolve_builder
from galaxyzoo.testing import check_dataset
from galaxyzoo_builtin.datasets import REAL_DATASETS
from galaxyzoo_builtin.datasets.base import split_indices
from galaxyzoo_builtin.datasets.catalog import open_catalog
from galaxyzoo_builtin.datasets.galaxy10 import open_galaxy10
from galaxyzoo_builtin.datasets.galaxy_mnist import open_galaxy_mnist
from galaxyzoo_builtin.datasets.gz2_kaggle import open_gz2_kaggle

SPECS = {s.name: s for s in REAL_DATASETS}


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([header, *rows])


def write_jpeg(path, seed, height=32, width=32):
    path.write_bytes(encode(galaxy_like(height, width, seed)))


# ---------------------------------------------------------------- splits


def test_split_indices_partition_stratify_and_depend_only_on_inputs():
    labels = np.array([0] * 50 + [1] * 30 + [2] * 20)
    parts = split_indices(100, (0.6, 0.2, 0.2), seed=3, strata=labels)
    joined = np.concatenate(list(parts.values()))
    assert sorted(joined.tolist()) == list(range(100))
    for name, share in zip(("train", "val", "test"), (0.6, 0.2, 0.2)):
        counts = np.bincount(labels[parts[name]], minlength=3)
        np.testing.assert_array_equal(counts, np.rint(np.array([50, 30, 20]) * share))
    again = split_indices(100, (0.6, 0.2, 0.2), seed=3, strata=labels)
    assert all(np.array_equal(parts[k], again[k]) for k in parts)
    other = split_indices(100, (0.6, 0.2, 0.2), seed=4, strata=labels)
    assert not np.array_equal(parts["val"], other["val"])
    with pytest.raises(ValueError, match="summing to 1"):
        split_indices(10, (0.5, 0.2, 0.2), seed=0)


# ---------------------------------------------------------------- catalog


@pytest.fixture
def labelled_catalog(tmp_path):
    """A catalog with a split column and one row of every kind of problem."""
    images = tmp_path / "images"
    images.mkdir()
    rows = []
    for i in range(12):
        gid = f"{1000 + i}"
        write_jpeg(images / f"{gid}.jpg", i)
        rows.append([gid, "spiral" if i % 3 == 0 else "smooth", ["train", "train", "val", "test"][i % 4]])
    write_jpeg(images / "2000.jpg", 50)
    write_jpeg(images / "2001.jpg", 51)
    (images / "2002.png").write_bytes(encode(galaxy_like(32, 32, 52), "PNG"))
    write_jpeg(images / "2003.jpg", 53)
    rows += [
        ["2000", "", "unlabeled"],  # fine: unlabelled rows need no label
        ["2001", "", "train"],  # missing_label (CSV line 15)
        ["2002", "smooth", "train"],  # a PNG, found by its id
        ["3000", "smooth", "train"],  # missing image
        ["1000", "smooth", "val"],  # duplicate id (line 18)
        ["2003", "elliptical", "train"],  # bad_label once classes are fixed
    ]
    write_csv(tmp_path / "labels.csv", ["GalaxyID", "label", "split"], rows)
    return tmp_path


def test_catalog_with_split_column_reports_every_bad_row(labelled_catalog):
    train = open_catalog("train", labelled_catalog, classes=("smooth", "spiral"))
    assert train.task.kind == "classification" and train.task.outputs == ("smooth", "spiral")
    # rows 0, 1, 4, 5, 8, 9 of the 12 regular ones, plus the PNG
    assert train.ids == ["1000", "1001", "1004", "1005", "1008", "1009", "2002"]
    np.testing.assert_array_equal(train.targets, [1, 0, 0, 0, 0, 1, 0])
    by_item = {p.item: p for p in train.problems}
    assert count_reasons(train.problems) == {"bad_label": 1, "duplicate_id": 1, "missing": 1, "missing_label": 1}
    assert by_item["2001"].reason == "missing_label" and by_item["2001"].source == "labels.csv:15"
    assert by_item["3000"].reason == "missing" and "3000" in by_item["3000"].message
    assert by_item["2003"].reason == "bad_label" and "elliptical" in by_item["2003"].message
    assert by_item["1000"].source == "labels.csv:18"
    unlabeled = open_catalog("unlabeled", labelled_catalog, classes=("smooth", "spiral"))
    assert unlabeled.ids == ["2000"] and unlabeled.targets.tolist() == [-1]
    assert len(open_catalog("val", labelled_catalog)) == 3 and len(open_catalog("test", labelled_catalog)) == 3
    # Classes default to the sorted labels seen, so the 'elliptical' row is then usable.
    default = open_catalog("train", labelled_catalog)
    assert default.task.outputs == ("elliptical", "smooth", "spiral") and "2003" in default.ids
    with pytest.raises(ValueError, match="has splits"):
        open_catalog("holdout", labelled_catalog)


def test_catalog_images_come_back_square_at_one_size(labelled_catalog):
    train = open_catalog("train", labelled_catalog)
    images = train.read_images([0, 5, 0])
    assert images.shape == (3, 32, 32, 3) and images.dtype == np.uint8
    np.testing.assert_array_equal(images[0], decode_image((labelled_catalog / "images/1000.jpg").read_bytes()))
    np.testing.assert_array_equal(images[0], images[2])
    half = open_catalog("train", labelled_catalog, image_size=16)
    # 16 from 32 is exactly the DCT 1/2 scale: no resampling after the decode.
    np.testing.assert_array_equal(half.read_images([0])[0], decode_image((labelled_catalog / "images/1000.jpg").read_bytes(), 16))


def test_catalog_without_split_column_splits_by_seed_and_stratifies(tmp_path):
    (tmp_path / "images").mkdir()
    rows = []
    for i in range(60):
        write_jpeg(tmp_path / "images" / f"g{i:03d}.jpg", i, 16, 16)
        rows.append([f"g{i:03d}", "" if i >= 50 else ("a" if i < 40 else "b")])
    write_csv(tmp_path / "cat.csv", ["name", "morph"], rows)
    opts = dict(catalog="cat.csv", label_column="morph", fractions=(0.6, 0.2, 0.2))
    parts = {s: open_catalog(s, tmp_path, seed=1, **opts) for s in ("train", "val", "test", "unlabeled")}
    assert [len(parts[s]) for s in ("train", "val", "test", "unlabeled")] == [30, 10, 10, 10]
    for s in ("train", "val", "test"):
        counts = np.bincount(parts[s].targets, minlength=2)
        np.testing.assert_array_equal(counts, {"train": [24, 6], "val": [8, 2], "test": [8, 2]}[s])
    all_ids = [i for s in parts.values() for i in s.ids]
    assert len(set(all_ids)) == 60
    assert parts["unlabeled"].problems == []  # without a split column, no label means "predict me"
    # The split ignores row order and follows the seed.
    write_csv(tmp_path / "cat.csv", ["name", "morph"], rows[::-1])
    assert sorted(open_catalog("val", tmp_path, seed=1, **opts).ids) == sorted(parts["val"].ids)
    assert sorted(open_catalog("val", tmp_path, seed=2, **opts).ids) != sorted(parts["val"].ids)


def test_catalog_vote_fractions_and_path_column(tmp_path):
    (tmp_path / "cutouts" / "a").mkdir(parents=True)
    header = ["id", "file", "p_smooth", "p_disk", "p_star", "note"]
    rows = []
    for i in range(8):
        write_jpeg(tmp_path / "cutouts" / "a" / f"{i}.jpg", i, 24, 24)
        rows.append([str(i), f"cutouts/a/{i}.jpg", "0.5", "0.25", "0.25", "x"])
    rows[1][2:5] = ["", "", ""]  # unlabelled
    rows[2][3] = "nan"  # partly missing
    rows[3][4] = "1.5"  # out of range
    rows[4][2] = "lots"  # not a number
    rows[5][1] = "cutouts/a/none.jpg"
    write_csv(tmp_path / "votes.csv", header, rows)
    opts = dict(catalog="votes.csv", path_column="file", target_columns="p_*", fractions=(1.0, 0.0, 0.0))
    train = open_catalog("train", tmp_path, **opts)
    assert train.task.kind == "vote_fractions" and train.task.outputs == ("p_smooth", "p_disk", "p_star")
    assert train.ids == ["0", "6", "7"] and train.targets.dtype == np.float32
    np.testing.assert_allclose(train.targets, [[0.5, 0.25, 0.25]] * 3)
    assert {p.item: p.reason for p in train.problems} == {"2": "missing_label", "3": "bad_label", "4": "bad_label", "5": "missing"}
    unlabeled = open_catalog("unlabeled", tmp_path, **opts)
    assert unlabeled.ids == ["1"] and np.isnan(unlabeled.targets).all()
    assert train.read_images([0]).shape == (1, 24, 24, 3)


def test_catalog_mixed_sizes_and_bad_files_never_stop_reading(tmp_path):
    (tmp_path / "images").mkdir()
    write_jpeg(tmp_path / "images" / "a.jpg", 0, 40, 40)
    write_jpeg(tmp_path / "images" / "b.jpg", 1, 40, 64)  # wider: centre-cropped
    write_jpeg(tmp_path / "images" / "c.jpg", 2, 20, 20)  # smaller: enlarged
    good = encode(galaxy_like(40, 40, 3))
    (tmp_path / "images" / "d.jpg").write_bytes(good[: len(good) // 2])  # truncated
    write_csv(tmp_path / "labels.csv", ["id", "label", "split"], [[k, "x", "train"] for k in "abcd"])
    ds = open_catalog("train", tmp_path)
    assert ds.image_size == 40 and ds.problems == []
    images = ds.read_images(range(4))
    assert images.shape == (4, 40, 40, 3)
    b = decode_image((tmp_path / "images/b.jpg").read_bytes())
    np.testing.assert_array_equal(images[1], b[:, 12:52])
    assert images[2].any() and not images[3].any()
    assert [(p.item, p.reason) for p in ds.problems] == [("d", "truncated")]
    assert str(tmp_path / "images" / "d.jpg") == ds.problems[0].source
    checked = open_catalog("train", tmp_path, verify=True)
    assert checked.ids == ["a", "b", "c"] and [p.reason for p in checked.problems] == ["truncated"]


def test_catalog_missing_files_name_the_layout(tmp_path):
    with pytest.raises(DatasetNotFoundError) as info:
        open_catalog("train", tmp_path)
    text = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert "labels.csv" in text and "images/" in text and str(tmp_path) in text and "Expected layout" in text
    (tmp_path / "images").mkdir()
    write_csv(tmp_path / "labels.csv", ["id", "kind"], [["a", "x"]])
    with pytest.raises(ValueError, match="no column 'label'.*id, kind"):
        open_catalog("train", tmp_path)


# ---------------------------------------------------------------- gz2_kaggle


@pytest.fixture
def kaggle_root(tmp_path):
    rng = np.random.default_rng(0)
    train_dir, test_dir = tmp_path / "images_training_rev1", tmp_path / "images_test_rev1"
    train_dir.mkdir()
    test_dir.mkdir()
    rows = []
    for i in range(40):
        gid = 100000 + 7 * i
        if i != 5:  # row 5 has no image
            write_jpeg(train_dir / f"{gid}.jpg", i, 16, 16)
        rows.append([str(gid)] + [f"{v:.6f}" for v in rng.random(37)])
    rows[7][10] = ""  # partly empty: missing_label
    write_csv(tmp_path / "training_solutions_rev1.csv", ["GalaxyID", *COLUMNS], rows)
    for gid in (900, 90, 9000):
        write_jpeg(test_dir / f"{gid}.jpg", gid, 16, 16)
    return tmp_path


def test_gz2_kaggle_splits_targets_and_unlabeled(kaggle_root):
    parts = {s: open_gz2_kaggle(s, kaggle_root, image_size=16) for s in ("train", "val", "test")}
    assert [len(p) for p in parts.values()] == [30, 4, 4]  # 38 usable rows at 0.8/0.1/0.1
    assert len({i for p in parts.values() for i in p.ids}) == 38
    train = parts["train"]
    assert train.task.kind == "vote_fractions" and train.task.outputs == COLUMNS
    assert train.targets.shape == (30, 37) and train.targets.dtype == np.float32
    assert {(p.item, p.reason) for p in train.problems} == {("100035", "missing"), ("100049", "missing_label")}
    assert train.read_images([0, 1]).shape == (2, 16, 16, 3)
    assert open_gz2_kaggle("val", kaggle_root, seed=0).ids == parts["val"].ids
    assert open_gz2_kaggle("val", kaggle_root, seed=9).ids != parts["val"].ids
    halves = [len(open_gz2_kaggle(s, kaggle_root, fractions=(0.5, 0.25, 0.25))) for s in ("train", "val", "test")]
    assert halves == [19, 10, 9]  # 38 × fractions, rounded to sum to 38
    unlabeled = open_gz2_kaggle("unlabeled", kaggle_root, image_size=16)
    assert unlabeled.ids == ["90", "900", "9000"] and np.isnan(unlabeled.targets).all()
    assert unlabeled.targets.shape == (3, 37)


def test_gz2_kaggle_missing_files_and_wrong_columns(tmp_path):
    with pytest.raises(DatasetNotFoundError) as info:
        open_gz2_kaggle("train", tmp_path)
    assert "training_solutions_rev1.csv" in str(info.value) and "images_training_rev1/" in str(info.value)
    with pytest.raises(DatasetNotFoundError, match="images_test_rev1/"):
        open_gz2_kaggle("unlabeled", tmp_path)
    (tmp_path / "images_training_rev1").mkdir()
    write_csv(tmp_path / "training_solutions_rev1.csv", ["GalaxyID", *COLUMNS[:-1]], [])
    with pytest.raises(ValueError, match="Class11.6"):
        open_gz2_kaggle("train", tmp_path)


# ---------------------------------------------------------------- HDF5 readers


def write_h5(path, images, labels, label_key, chunked=False):
    with h5py.File(path, "w") as f:
        if chunked:
            f.create_dataset("images", data=images, chunks=(3, *images.shape[1:]), compression="gzip")
        else:
            f.create_dataset("images", data=images)
        f.create_dataset(label_key, data=labels)


def fake_images(n, size, seed):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


@pytest.mark.parametrize("chunked", [False, True])
def test_galaxy_mnist_splits_reads_and_bad_labels(tmp_path, chunked):
    train_images, test_images = fake_images(40, 8, 0), fake_images(12, 8, 1)
    labels = np.arange(40) % 4
    labels[13] = 7  # not a class
    write_h5(tmp_path / "train_dataset.hdf5", train_images, labels, "labels", chunked)
    write_h5(tmp_path / "test_dataset.hdf5", test_images, np.arange(12) % 4, "labels", chunked)
    train = open_galaxy_mnist("train", tmp_path, val_fraction=0.25)
    val = open_galaxy_mnist("val", tmp_path, val_fraction=0.25)
    test = open_galaxy_mnist("test", tmp_path)
    assert (len(train), len(val), len(test)) == (29, 10, 12)
    assert not set(train.ids) & set(val.ids) and "train:13" not in train.ids + val.ids
    assert [(p.item, p.reason) for p in train.problems] == [("train:13", "bad_label")]
    assert sorted(np.bincount(val.targets).tolist()) == [2, 2, 3, 3]  # stratified
    assert train.task.outputs == ("smooth_round", "smooth_cigar", "edge_on_disk", "unbarred_spiral")
    picks = [5, 0, 5, 28]  # unsorted, repeated
    rows = [int(train.ids[i].split(":")[1]) for i in picks]
    np.testing.assert_array_equal(train.read_images(picks), train_images[rows])
    np.testing.assert_array_equal(train.targets[picks], labels[rows])
    np.testing.assert_array_equal(test.read_images([11, 0]), test_images[[11, 0]])
    # A worker process gets a pickled copy without the open file and reopens it.
    clone = pickle.loads(pickle.dumps(train))
    np.testing.assert_array_equal(clone.read_images(picks), train_images[rows])


def test_galaxy_mnist_finds_the_package_folders_and_reports_missing(tmp_path):
    raw = tmp_path / "GalaxyMNISTHighrez" / "raw"
    raw.mkdir(parents=True)
    write_h5(raw / "train_dataset.hdf5", fake_images(8, 12, 0), np.arange(8) % 4, "labels")
    assert open_galaxy_mnist("train", tmp_path, highrez=True, val_fraction=0.25).read_images([0]).shape == (1, 12, 12, 3)
    with pytest.raises(DatasetNotFoundError, match="train_dataset.hdf5"):
        open_galaxy_mnist("train", tmp_path)
    with pytest.raises(DatasetNotFoundError, match="test_dataset.hdf5"):
        open_galaxy_mnist("test", tmp_path, highrez=True)
    bad = tmp_path / "floats"
    bad.mkdir()
    write_h5(bad / "train_dataset.hdf5", np.zeros((4, 8, 8, 3), np.float32), np.zeros(4), "labels")
    with pytest.raises(ValueError, match="uint8"):
        open_galaxy_mnist("train", bad)


@pytest.mark.parametrize("variant, filename, name", [("decals", "Galaxy10_DECals.h5", "galaxy10"), ("sdss", "Galaxy10.h5", "galaxy10_sdss")])
def test_galaxy10_variants_stratified_splits(tmp_path, variant, filename, name):
    images, labels = fake_images(100, 6, 2), np.repeat(np.arange(10), 10)
    write_h5(tmp_path / filename, images, labels.astype(np.uint8), "ans")
    parts = {s: open_galaxy10(s, tmp_path, variant=variant) for s in ("train", "val", "test")}
    assert [len(p) for p in parts.values()] == [80, 10, 10]
    for p in parts.values():
        assert p.name == name and np.array_equal(np.bincount(p.targets), np.full(10, len(p) // 10))
    ids = [i for p in parts.values() for i in p.ids]
    assert len(set(ids)) == 100
    val = parts["val"]
    np.testing.assert_array_equal(val.read_images([3, 1]), images[[int(val.ids[3]), int(val.ids[1])]])
    expected_first = {"decals": "Disturbed", "sdss": "Disk, Face-on, No Spiral"}[variant]
    assert val.task.outputs[0] == expected_first and val.task.num_outputs == 10
    with pytest.raises(DatasetNotFoundError, match=filename):
        open_galaxy10("train", tmp_path / "elsewhere", variant=variant)
    with pytest.raises(ValueError, match="variant"):
        open_galaxy10("train", tmp_path, variant="hubble")


# ---------------------------------------------------------------- specs


def test_specs_build_their_readers_and_pass_the_check_kit(tmp_path, labelled_catalog, kaggle_root):
    write_h5(tmp_path / "train_dataset.hdf5", fake_images(20, 8, 0), np.arange(20) % 4, "labels")
    write_h5(tmp_path / "test_dataset.hdf5", fake_images(8, 8, 1), np.arange(8) % 4, "labels")
    write_h5(tmp_path / "Galaxy10_DECals.h5", fake_images(40, 8, 2), np.arange(40) % 10, "ans")
    write_h5(tmp_path / "Galaxy10.h5", fake_images(40, 8, 3), np.arange(40) % 10, "ans")
    roots = {"galaxy_mnist": tmp_path, "galaxy10": tmp_path, "galaxy10_sdss": tmp_path, "gz2_kaggle": kaggle_root}
    options = {"galaxy_mnist": {"val_fraction": 0.25}, "gz2_kaggle": {"image_size": 16},
               "galaxy10": {"seed": 0}, "galaxy10_sdss": {"seed": 0}}
    for name, root in roots.items():
        result = check_dataset(SPECS[name], root=root, splits=("train", "val", "test"), **options[name])
        assert not result.skipped, result
    for spec in REAL_DATASETS:
        assert spec.layout and callable(resolve_builder(spec.builder))
    # A missing root is reported with the spec's own layout, never a crash.
    missing = resolve_builder(SPECS["gz2_sample"].builder)
    with pytest.raises(DatasetNotFoundError, match="GalaxyID,label,split"):
        missing(split="train", root=tmp_path / "nowhere", **SPECS["gz2_sample"].defaults)
