"""``galaxyzoo ingest``: killed halfway, rerun, and every input ends with exactly one correct row."""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest

from galaxyzoo import ops
from galaxyzoo.data.bad_inputs import encode, galaxy_like, write_bad_inputs
from galaxyzoo.data.decode import decode_image
from galaxyzoo.data.shards import ShardDataset
from galaxyzoo.data.catalogs import catalog_images
from galaxyzoo.data.inputs import walk_images
from galaxyzoo.workflows.ingest import ingest, IngestOptions, STOP_AFTER_ENV, to_original

SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "gz2_sample"
SIZE = 32


def write_synthetic(folder: Path, n: int) -> None:
    """``n`` galaxy-like JPEGs of a few sizes, plus one small galaxy on a big canvas (its ROI is
    too small at the first DCT scale, so ingest must decode it again finer)."""
    folder.mkdir(parents=True, exist_ok=True)
    shapes = [(96, 96), (120, 80), (200, 200)]
    for i in range(n):
        h, w = shapes[i % len(shapes)]
        (folder / f"syn{i:03d}.jpg").write_bytes(encode(galaxy_like(h, w, seed=i)))
    canvas = np.full((512, 512, 3), 6, np.uint8)
    canvas[240:272, 240:272] = galaxy_like(32, 32, seed=99)
    (folder / "tiny_galaxy.jpg").write_bytes(encode(canvas))


def build_source(root: Path, real: int, synthetic: int) -> dict[str, str]:
    """Real sample images, synthetic ones and the bad-input corpus; path → expected outcome."""
    src = root / "src"
    if real:
        files = sorted((SAMPLE / "images").glob("*.jpg"))[:real]
        (src / "real").mkdir(parents=True)
        for f in files:
            shutil.copy(f, src / "real" / f.name)
    write_synthetic(src / "synthetic", synthetic)
    expected = {str(p): "ok" for p in src.rglob("*.jpg")}
    bad = write_bad_inputs(src / "bad")
    # A folder named like an image is walked into (it is empty), not an input.
    expected.update({str(src / "bad" / name): outcome for name, outcome in bad.items()
                     if name != "directory_named.jpg"})
    return expected


def read_rows(out: Path) -> list[dict[str, str]]:
    with open(out / "manifest.csv", newline="") as f:
        return list(csv.DictReader(f))


def check_manifest(out: Path, expected: dict[str, str], opts: IngestOptions) -> None:
    rows = read_rows(out)
    assert sorted(r["path"] for r in rows) == sorted(expected)  # exactly one row per input
    shards = {}
    for row in rows:
        want = expected[row["path"]]
        if want != "ok":
            assert (row["status"], row["error"], row["shard"]) == ("error", want, ""), row
            assert row["path"] in row["message"]
            continue
        assert row["status"] == "ok", row
        data = Path(row["path"]).read_bytes()
        decoded = decode_image(data, min(int(row["decoded_height"]), int(row["decoded_width"])))
        assert decoded.shape[:2] == (int(row["decoded_height"]), int(row["decoded_width"]))
        box = ops.find_roi(decoded[None], opts.mode, opts.threshold, opts.pad).numpy()
        original = (int(row["height"]), int(row["width"]))
        assert [int(row[c]) for c in ("x0", "y0", "x1", "y1")] == to_original(box, decoded.shape[:2], original)[0].tolist()
        crop = ops.preprocess(decoded[None], opts.size, opts.mode, opts.threshold, opts.pad, out_dtype="uint8")
        if row["shard"] not in shards:
            shards[row["shard"]] = np.load(out / row["shard"], mmap_mode="r")
        np.testing.assert_array_equal(shards[row["shard"]][int(row["index"])], crop[0].numpy())
    assert not list(out.glob(".*.tmp")), "temporary files left behind"


def kill_rerun_and_check(run_cli, tmp_path, expected, shard_size, workers):
    out = tmp_path / "out"
    args = ("ingest", str(tmp_path / "src"), "--out", str(out), "--size", str(SIZE),
            "--shard-size", str(shard_size), "--workers", str(workers), "--quiet")
    killed = run_cli(*args, env={STOP_AFTER_ENV: "1"})
    assert killed.returncode == 3, killed.stderr
    assert sorted(p.name for p in out.glob("shard-*")) == ["shard-00000.csv", "shard-00000.npy"]
    assert not (out / "manifest.csv").exists()
    # What a kill in the middle of a write leaves: a temporary next to the shards.
    (out / ".shard-00001.npy.abc123.tmp").write_bytes(b"\x93NUMPY half-written")
    first_shard = (out / "shard-00000.npy").stat().st_mtime_ns

    resumed = run_cli(*args)
    assert resumed.returncode == 0, resumed.stderr
    assert "1 already done" in resumed.stdout
    assert (out / "shard-00000.npy").stat().st_mtime_ns == first_shard  # skipped, not redone
    check_manifest(out, expected, IngestOptions(size=SIZE, shard_size=shard_size))
    errors = sum(v != "ok" for v in expected.values())
    assert f"ok: {len(expected) - errors};" in resumed.stdout

    stamps = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    again = run_cli(*args)
    assert again.returncode == 0, again.stderr
    assert "0 written" in again.stdout
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == stamps  # nothing rewritten
    return out


def test_killed_ingest_resumes_to_one_correct_row_per_input_synthetic(run_cli, tmp_path):
    expected = build_source(tmp_path, real=0, synthetic=24)
    out = kill_rerun_and_check(run_cli, tmp_path, expected, shard_size=10, workers=0)
    tiny = next(r for r in read_rows(out) if r["id"] == "tiny_galaxy")
    assert int(tiny["decoded_height"]) > 2 * SIZE  # decoded again at a finer scale
    assert (out / "manifest.parquet").exists()


@pytest.mark.sample
def test_killed_ingest_resumes_to_one_correct_row_per_input_real_sample(run_cli, tmp_path):
    if not (SAMPLE / "images").is_dir():
        pytest.skip(f"gz2_sample not found at {SAMPLE}")
    expected = build_source(tmp_path, real=200, synthetic=6)
    kill_rerun_and_check(run_cli, tmp_path, expected, shard_size=64, workers=2)


def test_catalog_rows_and_shard_dataset(tmp_path):
    write_synthetic(tmp_path / "img", 5)
    catalog = tmp_path / "cat.csv"
    catalog.write_text("GalaxyID,label\nsyn000,a\nnot_there,b\nsyn003,a\ntiny_galaxy,b\n")
    out = tmp_path / "out"
    summary = ingest(catalog_images(catalog, tmp_path / "img", "GalaxyID"), out,
                     IngestOptions(size=SIZE, shard_size=2), workers=0, progress=False)
    assert (summary.inputs, summary.ok, dict(summary.errors)) == (4, 3, {"missing": 1})
    rows = read_rows(out)
    assert [(r["id"], r["status"], r["error"]) for r in rows] == [
        ("syn000", "ok", ""), ("not_there", "error", "missing"), ("syn003", "ok", ""), ("tiny_galaxy", "ok", "")]

    with pytest.raises(ValueError, match="no column 'objid'"):
        catalog_images(catalog, tmp_path / "img", "objid")

    data = ShardDataset(out)
    assert data.ids == ["syn000", "syn003", "tiny_galaxy"] and len(data.errors) == 1
    images = data.read_images([2, 0])
    assert images.shape == (2, SIZE, SIZE, 3) and images.dtype == np.uint8
    for j, row in zip((0, 1), (rows[3], rows[0])):
        stored = np.load(out / row["shard"])[int(row["index"])]
        np.testing.assert_array_equal(images[j], stored.transpose(1, 2, 0))


def test_resume_with_other_options_is_refused(tmp_path):
    write_synthetic(tmp_path / "img", 2)
    ingest(walk_images(tmp_path / "img"), tmp_path / "out", IngestOptions(size=SIZE), workers=0, progress=False)
    with pytest.raises(ValueError, match="same options"):
        ingest(walk_images(tmp_path / "img"), tmp_path / "out", IngestOptions(size=SIZE + 1),
               workers=0, progress=False)


def test_forked_workers_hand_crops_back_through_shared_slots(tmp_path):
    """Worker processes write a chunk's crops into memory shared with the ingesting process and
    return their number: the same crops and rows as the chunk run in this process."""
    from concurrent.futures import ProcessPoolExecutor

    from galaxyzoo.workflows.ingest_chunk import CropSlots, process_chunk

    write_synthetic(tmp_path / "img", 12)
    items = list(walk_images(tmp_path / "img"))
    opts = IngestOptions(size=SIZE)
    want_pixels, want_rows = process_chunk(items, opts)
    slots = CropSlots.make(2, len(items), SIZE)
    assert slots is not None  # Linux forks its workers
    with slots, ProcessPoolExecutor(1) as pool:
        slot = slots.take()
        count, rows = pool.submit(process_chunk, items, opts, slot).result()
        assert isinstance(count, int) and count == len(want_pixels) == len(items) and rows == want_rows
        np.testing.assert_array_equal(slots.give_back(slot, count), want_pixels)
    assert sorted(slots.free) == [0, 1]
    assert CropSlots.make(64, 4096, 256) is None  # 38 GiB of slots: the crops travel as before


def test_crop_blobs_decodes_into_batches_it_reuses_and_a_failed_decode_leaves_no_trace(tmp_path):
    """JPEGs decode in place into one batch per decoded shape, kept for the next chunk (no fresh
    pages per image); a JPEG that fails halfway through its decode leaves the row to the next
    image, so every crop is its own image's."""
    import threading

    from galaxyzoo.workflows import ingest_chunk
    from galaxyzoo.workflows.ingest_chunk import crop_blobs

    opts = IngestOptions(size=SIZE)
    good = [encode(galaxy_like(96, 96, seed=s)) for s in range(6)]
    truncated = good[0][: len(good[0]) * 2 // 3]  # same header, so the same batch row is handed to it
    blobs = [good[0], truncated, *good[1:]]
    got = crop_blobs(blobs, opts)
    alone = [crop_blobs([b], opts).pixels[0] for b in good]
    assert got.errors[1].reason == "truncated" and [e is None for e in got.errors].count(True) == 6
    np.testing.assert_array_equal(got.pixels, np.stack(alone))
    kept = dict(ingest_chunk._batches.by_shape)
    crop_blobs(good[:3], opts)
    assert all(ingest_chunk._batches.by_shape[shape] is batch for shape, batch in kept.items())
    other = {}
    thread = threading.Thread(target=lambda: (crop_blobs(good[:2], opts),
                                              other.update(ingest_chunk._batches.by_shape)))
    thread.start()
    thread.join()
    assert other and all(other[s] is not kept[s] for s in other)  # each thread decodes into its own
