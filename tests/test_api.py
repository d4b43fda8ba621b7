"""The Python API end to end: a folder of synthetic multi-band FITS cutouts (with WCS, NaN
edges, a bad file) → ingest, predict (DataFrame with RA/Dec), gallery, evaluate; catalogs
in FITS table / VOTable / ECSV; pandas-written tables byte-identical to the csv module's."""
from __future__ import annotations

import csv
import io
import math

import numpy as np
import pytest
from PIL import Image

import galaxyzoo
from galaxyzoo.data import synthetic
from galaxyzoo.data.tables import csv_bytes, read_table, rows_frame, write_table

pd = pytest.importorskip("pandas")
fits = pytest.importorskip("astropy.io.fits")
from astropy.table import Table  # noqa: E402
from astropy.wcs import WCS  # noqa: E402

SIZE = 24
N = 6


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A one-epoch 4-class model on 48-px synthetic galaxies (ROI mode central)."""
    out = tmp_path_factory.mktemp("api") / "run"
    result = galaxyzoo.train(model="two_conv", dataset="synthetic", input_size=SIZE, epochs=1, batch_size=16,
                             dataset_options={"num_samples": 32, "image_size": 48}, out=out, workers=0)
    assert result.best.is_dir()
    return result.run_dir


def fits_cutouts(folder, n=N):
    """g, r, i extensions from the synthetic galaxies' RGB (as float flux), a TAN WCS per
    cutout centred at (150 + k/100, 2 - k/100), NaNs along one edge; plus a corrupt file."""
    folder.mkdir(parents=True, exist_ok=True)
    rgb = synthetic.images(0, "test", range(n), size=48).astype(np.float32)
    for k in range(n):
        w = WCS(naxis=2)
        w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
        w.wcs.crpix = [24.5, 24.5]
        w.wcs.crval = [150 + k / 100, 2 - k / 100]
        w.wcs.cdelt = [-1e-4, 1e-4]
        hdus = [fits.PrimaryHDU()]
        for band, channel in (("g", 2), ("r", 1), ("i", 0)):
            flux = rgb[k, :, :, channel] / 10.0
            flux[:, :2] = np.nan
            header = w.to_header()
            header["FILTER"] = band
            hdus.append(fits.ImageHDU(flux, header=header, name=band))
        name = folder / (f"gal{k}.fits.gz" if k % 2 else f"gal{k}.fits")
        fits.HDUList(hdus).writeto(name)
    (folder / "broken.fits").write_bytes(b"SIMPLE  =" + b"x" * 2871)  # one block of garbage
    return folder


def test_public_api_is_exported():
    for name in ("predict", "ingest", "evaluate", "train"):
        assert name in galaxyzoo.__all__ and callable(getattr(galaxyzoo, name))


def test_fits_folder_to_catalog_with_radec_and_gallery(run, tmp_path):
    folder = fits_cutouts(tmp_path / "cutouts")
    frame = galaxyzoo.predict(run, folder, tmp_path / "catalog.csv", gallery=tmp_path / "gallery.png",
                              bands="g,r,i", device="cpu")
    assert len(frame) == N + 1
    assert list(frame.columns[:7]) == ["id", "path", "ra", "dec", "status", "error", "predicted"]
    bad = frame[frame["id"] == "broken"].iloc[0]
    assert bad["status"] == "error" and "corrupt" in bad["error"] and math.isnan(bad["ra"])
    good = frame[frame["status"] == "ok"].sort_values("id")
    assert list(good["id"]) == [f"gal{k}" for k in range(N)]  # .fits.gz stems too
    assert np.allclose(good["ra"], [150 + k / 100 for k in range(N)], atol=1e-6)
    assert np.allclose(good["dec"], [2 - k / 100 for k in range(N)], atol=1e-6)
    probs = good[[c for c in frame.columns if c.startswith("prob_")]].to_numpy()
    assert np.allclose(probs.sum(axis=1), 1, atol=1e-4)
    on_disk = read_table(tmp_path / "catalog.csv")
    assert list(on_disk.columns) == list(frame.columns)
    assert on_disk.set_index("id").loc["gal1", "ra"] == "150.0100000"  # text, 7 decimals
    assert on_disk.set_index("id").loc["broken", "ra"] == ""
    with Image.open(tmp_path / "gallery.png") as im:
        assert im.format == "PNG" and im.size[0] > 300 and im.size[1] > 150


def test_ingest_fits_folder_then_predict_shards(run, tmp_path):
    folder = fits_cutouts(tmp_path / "cutouts")
    # JPEGs first, in shards of their own: only the later shards hold FITS rows (and ra/dec).
    for k in range(3):
        Image.fromarray(synthetic.images(1, "test", [k], size=48)[0]).save(folder / f"a{k}.jpg")
    manifest = galaxyzoo.ingest(folder, tmp_path / "shards", size=32, shard_size=3, workers=0)
    assert len(manifest) == N + 4
    assert (manifest["status"] == "ok").sum() == N + 3
    assert manifest.set_index("id").loc["broken", "error"] == "corrupt"
    assert list(manifest.columns[-2:]) == ["ra", "dec"]
    rows = manifest.set_index("id")
    assert rows.loc["gal1", "ra"] == "150.0100000" and rows.loc["gal1", "dec"] == "1.9900000"
    assert rows.loc["a0", "ra"] == "" and rows.loc["broken", "ra"] == ""
    typed = pd.read_parquet(tmp_path / "shards" / "manifest.parquet").set_index("id")
    assert typed["ra"].dtype == np.float64 and typed.loc["gal1", "ra"] == pytest.approx(150.01)
    assert typed["x0"].dtype.name == "Int64" and typed["x0"].isna().sum() == 1  # the broken file
    frame = galaxyzoo.predict(run, tmp_path / "shards", device="cpu")
    assert (frame["status"] == "ok").sum() == N + 3


def test_catalog_in_astropy_formats(run, tmp_path):
    folder = fits_cutouts(tmp_path / "cutouts", n=3)
    ids = ["gal0", "gal1", "gal2"]
    for name in ("cat.fits", "cat.vot", "cat.ecsv", "cat.parquet", "cat.csv"):
        path = tmp_path / name
        if name.endswith(".parquet"):
            pd.DataFrame({"GalaxyID": ids}).to_parquet(path)
        elif name.endswith(".csv"):
            path.write_text("GalaxyID\n" + "\n".join(ids) + "\n")
        else:
            Table({"GalaxyID": ids, "z": [0.1, 0.2, 0.3]}).write(path, format={
                "cat.fits": "fits", "cat.vot": "votable", "cat.ecsv": "ascii.ecsv"}[name])
        assert list(read_table(path)["GalaxyID"]) == ids, name
        manifest = galaxyzoo.ingest(folder, tmp_path / f"shards-{name}", catalog=path, size=32, workers=0)
        assert list(manifest["id"]) == ids and (manifest["status"] == "ok").all(), name


def test_pandas_csv_is_byte_identical_to_the_csv_module(tmp_path):
    columns = ["id", "path", "status", "error", "predicted", "prob_a"]
    rows = [["007", "dir/a b.jpg", "ok", "", "a", "0.500000"],
            ["x,y", 'q"uote.jpg', "error", "missing: dir/x,y: no such file", "", ""]]
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(columns)
    writer.writerows(rows)
    assert csv_bytes(rows_frame(columns, rows)) == text.getvalue().encode()
    write_table(rows_frame(columns, rows), tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_bytes() == text.getvalue().encode()
    back = read_table(tmp_path / "t.csv")
    assert back.values.tolist() == rows  # text stays text: 007 keeps its zeros
    write_table(rows_frame(columns, rows), tmp_path / "t.parquet")
    assert read_table(tmp_path / "t.parquet").values.tolist() == rows


def test_evaluate_returns_a_table_and_a_mistakes_gallery(run, tmp_path):
    result = galaxyzoo.evaluate(run, split="test", limit=32, out_dir=tmp_path / "ev", workers=0, device="cpu")
    assert list(result.table.columns) and len(result.table) == 1
    assert 0 <= float(result.table["accuracy"].iloc[0]) <= 1
    with Image.open(result.out_dir / "mistakes.png") as im:  # a one-epoch model makes mistakes
        assert im.format == "PNG" and im.size[0] > 300


def test_cli_predict_fits_with_gallery(run, tmp_path):
    import subprocess
    import sys

    folder = fits_cutouts(tmp_path / "cutouts", n=3)
    done = subprocess.run([sys.executable, "-m", "galaxyzoo.cli", "predict", str(run), str(folder), "--out",
                           str(tmp_path / "c.csv"), "--gallery", str(tmp_path / "g.png"), "--bands", "g,r,i",
                           "--stretch", "linear", "--device", "cpu", "--quiet"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "4 rows written" in done.stdout and "1 input(s) could not be read" in done.stderr
    frame = read_table(tmp_path / "c.csv")
    assert list(frame.columns[:4]) == ["id", "path", "ra", "dec"]
    assert Image.open(tmp_path / "g.png").size[0] > 300


def test_parquet_catalog_holds_numbers_and_text(run, tmp_path):
    folder = fits_cutouts(tmp_path / "cutouts", n=2)
    frame = galaxyzoo.predict(run, folder, tmp_path / "c.parquet", device="cpu")
    on_disk = pd.read_parquet(tmp_path / "c.parquet")
    assert list(on_disk.columns) == list(frame.columns)
    assert on_disk["ra"].dtype == np.float64 and on_disk["prob_" + run_class(frame)].dtype == np.float64
    assert on_disk["id"].tolist() == frame["id"].tolist() and pd.api.types.is_string_dtype(on_disk["status"])
    assert np.allclose(on_disk["ra"].dropna(), frame["ra"].dropna())


def run_class(frame) -> str:
    return next(c for c in frame.columns if c.startswith("prob_"))[len("prob_"):]


def test_cli_ingest_fits_with_a_votable_catalog(tmp_path):
    import subprocess
    import sys

    folder = fits_cutouts(tmp_path / "cutouts", n=3)
    Table({"GalaxyID": ["gal0", "gal2"]}).write(tmp_path / "cat.vot", format="votable")
    done = subprocess.run([sys.executable, "-m", "galaxyzoo.cli", "ingest", str(folder), "--out", str(tmp_path / "s"),
                           "--catalog", str(tmp_path / "cat.vot"), "--size", "32", "--workers", "0", "--quiet",
                           "--bands", "2,1,0", "--stretch", "linear"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    manifest = read_table(tmp_path / "s" / "manifest.csv")
    assert list(manifest["id"]) == ["gal0", "gal2"] and (manifest["status"] == "ok").all()
    Table({"GalaxyID": ["../outside"]}).write(tmp_path / "bad.ecsv", format="ascii.ecsv")
    done = subprocess.run([sys.executable, "-m", "galaxyzoo.cli", "ingest", str(folder), "--out", str(tmp_path / "t"),
                           "--catalog", str(tmp_path / "bad.ecsv")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "leads outside" in done.stderr


def test_metrics_csv_through_pandas_keeps_the_csv_module_bytes(tmp_path):
    from galaxyzoo.workflows.run_outputs import write_history

    history = [{"epoch": 1, "train_loss": 0.1, "val_loss": 1e-05, "lr": 0.001, "cm": [[1]], "best": True},
               {"epoch": 2, "train_loss": 0.30000000000000004, "lr": 0.0, "note": "a,b"}]
    write_history(tmp_path, history, {"monitor": "val_loss"})
    columns = ["epoch", "train_loss", "val_loss", "lr", "best", "note"]
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(history)
    assert (tmp_path / "metrics.csv").read_bytes() == text.getvalue().encode()


def test_cli_evaluate_reads_fits_catalogs_with_the_band_options(run, tmp_path):
    import json
    import subprocess
    import sys

    fits_cutouts(tmp_path / "cutouts")
    classes = ("smooth_round", "smooth_cigar", "edge_on_disk", "unbarred_spiral")
    (tmp_path / "labels.csv").write_text("id,label,split\n" + "".join(
        f"gal{k},{classes[k % 4]},test\n" for k in range(N)))
    base = [sys.executable, "-m", "galaxyzoo.cli", "evaluate", str(run), "--dataset", "catalog",
            "--root", str(tmp_path), "--dataset-opt", "image_dir=cutouts", "--dataset-opt", "id_column=id",
            "--dataset-opt", "classes=" + ",".join(classes), "--workers", "0", "--device", "cpu", "--quiet"]
    done = subprocess.run(base + ["--out", str(tmp_path / "e"), "--bands", "g,r,i", "--stretch", "linear"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"{N} samples" in done.stdout and json.loads((tmp_path / "e" / "metrics.json").read_text())
    # The options reach the decoder: a band the files lack makes every image unreadable.
    done = subprocess.run(base + ["--out", str(tmp_path / "f"), "--bands", "g,r,z"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "band" in (done.stderr + done.stdout).lower()
