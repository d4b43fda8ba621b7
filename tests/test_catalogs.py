"""The one catalog reader (galaxyzoo/data/catalogs.py): every table format gives the same rows,
and datasets, ingest and predict find the same image for the same id."""
from __future__ import annotations

import os

import numpy as np
import pytest

from galaxyzoo import registry
from galaxyzoo.data.catalogs import ImageIndex, catalog_images, read_catalog
from galaxyzoo.data.bad_inputs import encode, galaxy_like
from galaxyzoo.errors import UserError

IDS = ["007", "12", "g3", "g4", "g5", "g6", "g7", "g8", "g9", "g10"]


def _frame():
    pd = pytest.importorskip("pandas")
    return pd.DataFrame({"id": IDS, "label": ["a", "b"] * 5,
                         "split": ["train"] * 6 + ["val"] * 2 + ["test"] * 2,
                         "p": [0.25, 0.5, 0.75, 1.0, 0.0, 0.125, 0.5, 0.5, 0.25, 0.75]})


def _write(frame, path):
    name = path.name
    if name.endswith(".csv"):
        path.write_bytes(b"\xef\xbb\xbf" + frame.to_csv(index=False).encode())  # with a BOM
    elif name.endswith(".parquet"):
        frame.to_parquet(path, index=False)
    else:
        astropy_table = pytest.importorskip("astropy.table")
        astropy_table.Table.from_pandas(frame).write(path, format="votable" if name.endswith(".vot") else None)
    return path


@pytest.fixture
def folder(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    for k, ident in enumerate(IDS):
        (images / f"{ident}.jpg").write_bytes(encode(galaxy_like(40, 40, seed=k)))
    return tmp_path


@pytest.mark.parametrize("name", ["labels.csv", "labels.parquet", "labels.ecsv", "labels.fits", "labels.vot"])
def test_every_format_gives_the_same_text_rows_images_and_dataset(folder, name):
    path = _write(_frame(), folder / name)
    catalog = read_catalog(path)
    assert catalog.header == ["id", "label", "split", "p"]
    assert [r[0] for r in catalog.rows] == IDS  # "007" keeps its zeros
    assert [r[1] for r in catalog.rows] == ["a", "b"] * 5
    assert [float(r[3]) for r in catalog.rows] == list(_frame()["p"])
    images = catalog_images(path, folder / "images", "id")
    assert images == [(i, os.path.join(folder / "images", f"{i}.jpg")) for i in IDS]
    data = registry.create_dataset("catalog", split="train", root=folder, catalog=name, id_column="id")
    assert data.ids == IDS[:6] and not data.problems
    np.testing.assert_array_equal(data.targets, [0, 1, 0, 1, 0, 1])
    votes = registry.create_dataset("catalog", split="val", root=folder, catalog=name, id_column="id",
                                    target_columns=["p"])
    np.testing.assert_allclose(votes.targets[:, 0], [0.5, 0.5])


def test_masked_and_missing_cells_are_empty_text(tmp_path):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"id": [1, 2, 3], "p": [0.5, np.nan, 1.0], "note": ["x", None, "z"]})
    frame.to_parquet(tmp_path / "c.parquet", index=False)
    catalog = read_catalog(tmp_path / "c.parquet")
    assert catalog.rows == [["1", "0.5", "x"], ["2", "", ""], ["3", "1.0", "z"]]
    assert catalog.where(1) == "c.parquet#2" and catalog.describe(1).endswith("c.parquet, row 2")


def test_csv_rows_and_their_lines(tmp_path):
    (tmp_path / "c.csv").write_text("id , label\na,1\n\nb\n")
    catalog = read_catalog(tmp_path / "c.csv")
    assert catalog.header == ["id", "label"]  # names stripped
    assert catalog.rows == [["a", "1"], ["b", ""]]  # blank line dropped, short row padded
    assert catalog.where(0) == "c.csv:2" and "line 2" in catalog.describe(0)
    with pytest.raises(UserError, match="no column 'GalaxyID'.*id, label"):
        catalog.column("GalaxyID")


@pytest.mark.parametrize("text, match", [
    ("", "not a readable CSV|empty catalog"),
    ("id,label\na,1,extra\n", "not a readable CSV"),  # a row wider than the header: refused, not cut
    ("id,id\na,b\n", "repeated column"),
])
def test_malformed_catalogs_are_one_line_errors(tmp_path, text, match):
    (tmp_path / "c.csv").write_text(text)
    with pytest.raises(UserError, match=match):
        read_catalog(tmp_path / "c.csv")


def test_image_index_suffix_order_fits_stems_and_subfolders(tmp_path):
    for name in ("a.png", "a.jpg", "b.fits.gz", "c.JPEG", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "d.png").write_bytes(b"x")
    index = ImageIndex(tmp_path)
    assert index.find("a") == os.path.join(tmp_path, "a.jpg")  # .jpg before .png
    assert index.find("b") == os.path.join(tmp_path, "b.fits.gz")
    assert index.find("c") == os.path.join(tmp_path, "c.JPEG")
    assert index.find("sub/d") == os.path.join(tmp_path, "sub", "d.png")
    assert index.find("notes") is None and index.find("zzz") is None
    assert ImageIndex(tmp_path / "absent").find("a") is None


def test_ingest_and_predict_give_a_missing_image_its_row(tmp_path):
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "a.jpg").write_bytes(b"x")
    (tmp_path / "c.csv").write_text("GalaxyID\na\nb\n")
    assert catalog_images(tmp_path / "c.csv", tmp_path / "img", "GalaxyID") == [
        ("a", os.path.join(tmp_path / "img", "a.jpg")), ("b", os.path.join(tmp_path / "img", "b.jpg"))]
