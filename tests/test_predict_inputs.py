"""``predict`` over catalogs and ingested shards, Kaggle-format vote fractions, Parquet output."""
from __future__ import annotations

import csv
from dataclasses import replace

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch

from galaxyzoo.gz2 import tree as gz2_tree
from galaxyzoo.workflows.checkpoint import load_model
from galaxyzoo.data.bad_inputs import encode, galaxy_like
from galaxyzoo.data.preprocessing import Preprocessing
from galaxyzoo.data.shards import ShardDataset
from galaxyzoo.workflows.inference import to_probabilities
from galaxyzoo.data.inputs import walk_images
from galaxyzoo.workflows.ingest import ingest, IngestOptions
from galaxyzoo.workflows.predict import predict_files
from galaxyzoo.specs import Task
from galaxyzoo.workflows.train import train
from galaxyzoo.workflows.train_config import TrainConfig

SIZE = 24


@pytest.fixture(scope="module")
def votes_run(tmp_path_factory):
    """A one-epoch vote-fraction model on 48-px synthetic galaxies, ROI mode central."""
    run = tmp_path_factory.mktemp("votes") / "run"
    config = TrainConfig(model="two_conv", dataset="synthetic_votes", input_size=SIZE, epochs=1,
                         batch_size=16, dataset_options={"num_samples": 32, "image_size": 48})
    return train(config, run, workers=0, progress=False).best


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / "img"
    folder.mkdir()
    for i in range(6):
        (folder / f"{100 + i}.jpg").write_bytes(encode(galaxy_like(48, 48, seed=i)))
    (folder / "105.jpg").write_bytes(b"")  # one bad file
    return folder


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_shards_predict_to_kaggle_columns_in_parquet(votes_run, images, tmp_path):
    ingest(walk_images(images), tmp_path / "shards", IngestOptions(size=SIZE), workers=0, progress=False)
    catalog = predict_files(votes_run, [tmp_path / "shards"], tmp_path / "pred.parquet", progress=False)
    assert (catalog.rows, catalog.errors) == (6, 1)
    table = pq.read_table(tmp_path / "pred.parquet").to_pydict()
    assert list(table) == ["GalaxyID", *gz2_tree.COLUMNS, "path", "status", "error"]
    assert table["GalaxyID"] == [str(100 + i) for i in range(6)]
    assert table["status"] == ["ok"] * 5 + ["error"] and table["error"][5].startswith("empty")
    assert table["Class1.1"][5] is None

    # The ok rows are the model on the stored crops, only resized/normalised (mode=None).
    model, meta, _ = load_model(votes_run, "cpu")
    prep = replace(Preprocessing.from_dict(meta["preprocessing"]), mode=None)
    crops = ShardDataset(tmp_path / "shards").read_images(range(5))
    with torch.no_grad():
        want = to_probabilities(model(prep.apply(crops)), Task(**meta["task"])).numpy()
    got = np.array([[table[c][i] for c in gz2_tree.COLUMNS] for i in range(5)])
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_catalog_input_equals_the_same_files_and_csv_equals_parquet(votes_run, images, tmp_path):
    (tmp_path / "cat.csv").write_text("GalaxyID,x\n102\n999\n100\n")
    by_catalog = predict_files(votes_run, [tmp_path / "cat.csv"], tmp_path / "a.csv", image_dir=images,
                               progress=False)
    assert (by_catalog.rows, by_catalog.errors) == (3, 1)
    rows = read_csv(tmp_path / "a.csv")
    assert [(r["GalaxyID"], r["status"]) for r in rows] == [("102", "ok"), ("999", "error"), ("100", "ok")]
    assert rows[1]["error"].startswith("missing") and rows[1]["Class1.1"] == ""

    predict_files(votes_run, [images / "102.jpg", images / "100.jpg"], tmp_path / "b.csv", progress=False)
    direct = read_csv(tmp_path / "b.csv")
    for a, b in zip((rows[0], rows[2]), direct):
        assert [a[c] for c in gz2_tree.COLUMNS] == [b[c] for c in gz2_tree.COLUMNS]

    predict_files(votes_run, [tmp_path / "cat.csv"], tmp_path / "a.parquet", image_dir=images, progress=False)
    table = pq.read_table(tmp_path / "a.parquet").to_pydict()
    assert table["GalaxyID"] == [r["GalaxyID"] for r in rows]
    for c in gz2_tree.COLUMNS:
        assert [None if v == "" else float(v) for v in (r[c] for r in rows)] == table[c]
