"""``--engine dask``: ingest and predict on a 2-process Dask cluster give the single-process
output, byte for byte; a Dask ingest resumes a killed local one; no Dask, one clear line."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from galaxyzoo.data.bad_inputs import encode, galaxy_like, write_bad_inputs
from galaxyzoo.data.inputs import walk_images
from galaxyzoo.workflows.ingest import ingest, IngestOptions, STOP_AFTER_ENV

distributed = pytest.importorskip("distributed", reason='Dask is not installed (pip install "galaxyzoo[dask]")')

from galaxyzoo.cli import main  # noqa: E402
from galaxyzoo.workflows.dask_engine import dask_client, dask_ingest, dask_predict  # noqa: E402
from galaxyzoo.workflows.predict import predict_files  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "gz2_sample"
SIZE = 32
OPTS = IngestOptions(size=SIZE, shard_size=16)


@pytest.fixture(scope="module")
def client():
    """A local cluster of 2 worker processes with one thread each, shared by this module."""
    with dask_client(workers=2) as client:
        assert len(client.nthreads()) == 2
        yield client


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """40 synthetic galaxies of three sizes and the bad-input corpus."""
    src = tmp_path_factory.mktemp("scaleout") / "src"
    src.mkdir()
    shapes = [(96, 96), (120, 80), (200, 200)]
    for i in range(40):
        (src / f"syn{i:03d}.jpg").write_bytes(encode(galaxy_like(*shapes[i % 3], seed=i)))
    write_bad_inputs(src / "bad")
    return src


def same_files(a: Path, b: Path) -> None:
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_ingest_on_two_workers_equals_single_process(client, source, tmp_path):
    local = ingest(walk_images(source), tmp_path / "local", OPTS, workers=0, chunk_size=8, progress=False)
    dask = dask_ingest(walk_images(source), tmp_path / "dask", client, OPTS, chunk_size=8, progress=False)
    assert dask.errors and (dask.inputs, dask.ok, dask.errors) == (local.inputs, local.ok, local.errors)
    assert dask.shards_written == local.shards_written > 2
    # Manifest rows (bad files with their reasons), shard pixels, parquet: the same bytes.
    same_files(tmp_path / "local", tmp_path / "dask")
    assert "truncated" in (tmp_path / "dask" / "manifest.csv").read_text()


@pytest.mark.sample
def test_ingest_real_sample_on_two_workers_equals_single_process(client, tmp_path):
    files = sorted((SAMPLE / "images").glob("*.jpg"))[:96]
    if not files:
        pytest.skip(f"gz2_sample not found at {SAMPLE}")
    inputs = [(f.stem, str(f)) for f in files]
    opts = IngestOptions(size=64, shard_size=40)
    ingest(inputs, tmp_path / "local", opts, workers=0, chunk_size=16, progress=False)
    summary = dask_ingest(inputs, tmp_path / "dask", client, opts, chunk_size=16, progress=False)
    assert summary.ok == len(files)
    same_files(tmp_path / "local", tmp_path / "dask")


def test_dask_ingest_resumes_a_killed_local_one(client, source, tmp_path, run_cli):
    ingest(walk_images(source), tmp_path / "full", OPTS, workers=0, progress=False)
    out = tmp_path / "out"
    args = ("ingest", str(source), "--out", str(out), "--size", str(SIZE), "--shard-size", "16",
            "--workers", "0", "--quiet")
    killed = run_cli(*args, env={STOP_AFTER_ENV: "2"})
    assert killed.returncode == 3, killed.stderr
    first = {p.name: p.stat().st_mtime_ns for p in out.glob("shard-*")}
    assert len(first) == 4 and not (out / "manifest.csv").exists()

    summary = dask_ingest(walk_images(source), out, client, OPTS, progress=False)
    assert (summary.shards_skipped, summary.shards_written) == (2, 2)
    assert all(out.joinpath(n).stat().st_mtime_ns == t for n, t in first.items())  # not redone
    same_files(tmp_path / "full", out)


@pytest.fixture(scope="module")
def votes_run(tmp_path_factory):
    """A one-epoch vote-fraction model on synthetic galaxies (ROI mode central)."""
    from galaxyzoo.workflows.train import train
    from galaxyzoo.workflows.train_config import TrainConfig

    config = TrainConfig(model="two_conv", dataset="synthetic_votes", input_size=24, epochs=1,
                         batch_size=16, dataset_options={"num_samples": 32, "image_size": 48})
    return train(config, tmp_path_factory.mktemp("votes") / "run", workers=0, progress=False).best


def test_predict_on_two_workers_equals_single_process(client, source, votes_run, tmp_path):
    ingest(walk_images(source), tmp_path / "shards", OPTS, workers=0, progress=False)
    # Loose files (good and bad), an ingest folder and the files again: chunks of both kinds.
    inputs = [source, tmp_path / "shards", source / "bad"]
    local = predict_files(votes_run, inputs, tmp_path / "local.csv", batch_size=8, device="cpu",
                          threads=1, progress=False, tta=4)
    dask = dask_predict(votes_run, inputs, tmp_path / "dask.csv", client, batch_size=8, chunk_batches=1,
                        device="cpu", progress=False, tta=4)
    assert (dask.rows, dask.errors) == (local.rows, local.errors) and 0 < dask.errors < dask.rows
    assert (tmp_path / "dask.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()
    # Each worker loaded the model once, for all its chunks.
    loaded = client.run(lambda: len(getattr(sys.modules.get("galaxyzoo.workflows.dask_engine"), "_loaded", {})))
    assert sorted(loaded.values()) == [1, 1]


def test_cli_on_a_running_scheduler(client, source, votes_run, tmp_path, capsys):
    address = client.scheduler.address
    assert main(["ingest", str(source), "--out", str(tmp_path / "shards"), "--size", str(SIZE),
                 "--shard-size", "16", "--quiet", "--engine", "dask", "--scheduler", address]) == 0
    ingest(walk_images(source), tmp_path / "local", OPTS, workers=0, progress=False)
    same_files(tmp_path / "local", tmp_path / "shards")
    assert main(["predict", str(votes_run), str(tmp_path / "shards"), "--out", str(tmp_path / "a.parquet"),
                 "--quiet", "--engine", "dask", "--scheduler", address, "--device", "cpu"]) == 0
    assert "rows written" in capsys.readouterr().out

    assert main(["ingest", str(source), "--out", str(tmp_path / "x"), "--scheduler", address]) == 2
    assert "--scheduler is for --engine dask" in capsys.readouterr().err
    assert main(["predict", str(votes_run), str(source), "--out", str(tmp_path / "b.csv"), "--engine", "dask",
                 "--scheduler", address, "--workers", "2"]) == 2
    assert "pick one" in capsys.readouterr().err


def test_without_dask_the_engine_asks_for_the_extra(run_cli, source, tmp_path):
    hidden = tmp_path / "no_dask" / "distributed"
    hidden.mkdir(parents=True)
    (hidden / "__init__.py").write_text("raise ImportError('distributed hidden by the test')\n")
    result = run_cli("ingest", str(source), "--out", str(tmp_path / "out"), "--engine", "dask",
                     pythonpath=[hidden.parent])
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        'galaxyzoo ingest: error: --engine dask needs Dask: pip install "galaxyzoo[dask]"']
    assert not (tmp_path / "out").exists()
