"""``ingest --device cuda`` (galaxyzoo.workflows.gpu_ingest): the CPU path's rows, from JPEGs
decoded and cropped on the GPU.

Everywhere: the GPU path run on the CPU, with a Pillow decoder injected in nvJPEG's place (a
full-scale libjpeg decode, as nvJPEG gives within a grey level or two), against the CPU path
on the same folder: galaxy-like JPEGs plus the bad-input corpus (truncated, corrupt, PNG,
CMYK, text...), and the GZ2 sample when it is there. Ids, paths, statuses, error reasons and
messages, original sizes and the number of crops must be equal; boxes within the tolerance
measured in gpu_ingest's docstring. @pytest.mark.gpu: the same with torchvision's nvJPEG.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from fake_nvjpeg import PillowDecoder
from galaxyzoo.data import gpu_decode
from galaxyzoo.data.bad_inputs import encode, galaxy_like, without_quantization_tables, write_bad_inputs
from galaxyzoo.data.inputs import walk_images
from galaxyzoo.data.tables import read_table
from galaxyzoo.errors import UserError
from galaxyzoo.workflows import gpu_ingest
from galaxyzoo.data.device_resize import area_resize
from galaxyzoo.workflows.gpu_ingest import chunk_function, process_chunk_gpu
from galaxyzoo.workflows.ingest import IngestOptions, ingest
from galaxyzoo.workflows.ingest_chunk import process_chunk

SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "gz2_sample"
BOX = slice(4, 8)  # x0, y0, x1, y1 in a manifest row
DECODED = slice(10, 12)


def write_folder(root: Path) -> dict[str, str]:
    """Galaxy-like JPEGs (square, oblong, grey, a small galaxy on a big canvas that is cut again
    finer) and the bad-input corpus; file name → expected outcome."""
    root.mkdir(parents=True)
    expected = {}
    for i, (h, w) in enumerate([(96, 96), (120, 80), (200, 200), (424, 424), (61, 203), (33, 40)] * 3):
        (root / f"syn{i:02d}.jpg").write_bytes(encode(galaxy_like(h, w, seed=i)))
        expected[f"syn{i:02d}.jpg"] = "ok"
    (root / "grey.jpg").write_bytes(encode(Image.fromarray(galaxy_like(150, 150, seed=50)).convert("L")))
    canvas = np.full((512, 512, 3), 6, np.uint8)
    canvas[240:272, 240:272] = galaxy_like(32, 32, seed=99)
    (root / "tiny_galaxy.jpg").write_bytes(encode(canvas))
    expected.update({"grey.jpg": "ok", "tiny_galaxy.jpg": "ok"})
    bad = write_bad_inputs(root / "bad")
    (root / "bad" / "no_tables.jpg").write_bytes(without_quantization_tables(encode(galaxy_like(seed=7))))
    bad["no_tables.jpg"] = "corrupt"  # passes the host checks, fails the decoder
    expected.update({f"bad/{name}": outcome for name, outcome in bad.items() if name != "directory_named.jpg"})
    return expected


def run_both(items, opts: IngestOptions):
    """(CPU pixels, CPU rows, GPU-path pixels, GPU-path rows, the fake decoder)."""
    decoder = PillowDecoder()
    cpu_pixels, cpu_rows = process_chunk(items, opts)
    gpu_pixels, gpu_rows = process_chunk_gpu(items, opts, device="cpu", decoder=decoder)
    return cpu_pixels, cpu_rows, gpu_pixels, gpu_rows, decoder


def box_agreement(cpu_rows, gpu_rows) -> dict[str, float]:
    """Fractions of ok rows whose boxes are equal, within 2 and 4 original pixels, within 10%
    of the CPU box's side; and whose decoded sizes are equal."""
    pairs = [(a, b) for a, b in zip(cpu_rows, gpu_rows) if a[12] == "ok"]
    diff = np.array([np.abs(np.subtract(a[BOX], b[BOX])).max() for a, b in pairs])
    side = np.array([max(a[6] - a[4], a[7] - a[5]) for a, _ in pairs])
    return {"equal": float(np.mean(diff == 0)), "within 2": float(np.mean(diff <= 2)),
            "within 4": float(np.mean(diff <= 4)), "within 10%": float(np.mean(diff <= 0.1 * side)),
            "decoded": float(np.mean([a[DECODED] == b[DECODED] for a, b in pairs]))}


def assert_same_rows_but_boxes(cpu_pixels, cpu_rows, gpu_pixels, gpu_rows) -> None:
    """Every column but the boxes and decoded sizes equal (ids, paths, status, reason, message,
    original size, ra/dec); the same number of crops."""
    assert gpu_pixels.shape == cpu_pixels.shape and gpu_pixels.dtype == np.uint8
    assert len(gpu_rows) == len(cpu_rows)
    for a, b in zip(cpu_rows, gpu_rows):
        assert a[:4] + a[8:10] + a[12:] == b[:4] + b[8:10] + b[12:], (a, b)


@pytest.fixture
def folder(tmp_path):
    expected = write_folder(tmp_path / "src")
    return tmp_path / "src", expected


def test_gpu_path_gives_the_cpu_rows_for_good_and_bad_files(folder):
    src, expected = folder
    items = list(walk_images(src))
    opts = IngestOptions(size=32)
    cpu_pixels, cpu_rows, gpu_pixels, gpu_rows, decoder = run_both(items, opts)
    assert_same_rows_but_boxes(cpu_pixels, cpu_rows, gpu_pixels, gpu_rows)
    outcome = {Path(r[1]).relative_to(src).as_posix(): r[12] if r[12] == "error" else "ok" for r in cpu_rows}
    assert outcome == {k: "error" if v != "ok" else "ok" for k, v in expected.items()}
    assert {Path(r[1]).relative_to(src).as_posix(): r[13] for r in gpu_rows if r[13]} == \
        {k: v for k, v in expected.items() if v != "ok"}
    # The JPEGs went to the (fake) GPU decoder in one batch: the good ones but CMYK (refused by
    # gpu_decode's header check, like the bombs and garbage), and no_tables.jpg, which fails
    # there and then on the CPU, giving the CPU's row.
    good_jpegs = sum(1 for k, v in expected.items() if v == "ok" and "png" not in k and k != "bad/cmyk.jpg")
    assert decoder.calls[0] == good_jpegs + 1
    # Synthetic galaxies have clean edges: their boxes agree exactly, or within a pixel or two.
    agreement = box_agreement(cpu_rows, gpu_rows)
    assert agreement["within 2"] >= 0.9 and agreement["within 10%"] == 1.0 and agreement["decoded"] == 1.0, agreement
    tiny = next(r for r in gpu_rows if r[0] == "tiny_galaxy")
    assert tiny[10] > 2 * opts.size  # cut again from a finer resize, as the CPU decodes again finer
    # Rows the CPU path made (the good files the GPU does not decode) are the CPU's, boxes and
    # crops too.
    on_cpu = {str(src / "bad" / name) for name in ("png_named.jpg", "rgba.png", "cmyk.jpg")}
    good = [i for i, r in enumerate(cpu_rows) if r[12] == "ok"]
    assert on_cpu <= {cpu_rows[i][1] for i in good}
    for j, i in enumerate(good):
        if cpu_rows[i][1] in on_cpu:
            assert cpu_rows[i] == gpu_rows[i]
            np.testing.assert_array_equal(cpu_pixels[j], gpu_pixels[j])
    assert np.abs(cpu_pixels.astype(int) - gpu_pixels.astype(int)).mean() < 3


def test_full_scale_decodes_and_whole_image_crops_agree(tmp_path):
    """Crops decoded at full scale on both paths (size 128 on 200-px images) are byte for
    byte the CPU's (the fake decoder is libjpeg); with mode None, boxes are whole images and
    crops within a couple of grey levels."""
    items = []
    for i in range(6):
        path = tmp_path / f"g{i}.jpg"
        path.write_bytes(encode(galaxy_like(200, 200, seed=i)))
        items.append((path.stem, str(path)))
    cpu_pixels, cpu_rows, gpu_pixels, gpu_rows, _ = run_both(items, IngestOptions(size=128))
    assert cpu_rows == gpu_rows
    np.testing.assert_array_equal(cpu_pixels, gpu_pixels)
    cpu_pixels, cpu_rows, gpu_pixels, gpu_rows, _ = run_both(items, IngestOptions(size=32, mode=None))
    assert cpu_rows == gpu_rows
    assert np.abs(cpu_pixels.astype(int) - gpu_pixels.astype(int)).max() <= 2


@pytest.mark.sample
def test_gpu_path_on_the_gz2_sample_agrees_within_the_measured_tolerance():
    """Measured on the first 200 sample images (64-px crops, central ROI, auto threshold):
    boxes 68% equal, 82% within 2 px, 87% within 4 px, 96% within 10% of the box side; 2 of
    200 decoded at the other scale (an ROI side at the finer-decode limit). That is what a
    one-level change of the CPU decode's own pixels does (see gpu_ingest), so the bounds sit a
    few points under the measurement."""
    files = sorted((SAMPLE / "images").glob("*.jpg"))[:200]
    if len(files) < 200:
        pytest.skip(f"gz2_sample not found at {SAMPLE}")
    items = [(f.stem, str(f)) for f in files]
    cpu_pixels, cpu_rows, gpu_pixels, gpu_rows, decoder = run_both(items, IngestOptions(size=64))
    assert_same_rows_but_boxes(cpu_pixels, cpu_rows, gpu_pixels, gpu_rows)
    assert decoder.calls == [200]
    agreement = box_agreement(cpu_rows, gpu_rows)
    assert agreement["equal"] >= 0.6 and agreement["within 4"] >= 0.8, agreement
    assert agreement["within 10%"] >= 0.93 and agreement["decoded"] >= 0.97, agreement


def test_area_resize_is_the_mean_of_each_block_rounded_half_up():
    batch = torch.zeros((1, 4, 4, 3), dtype=torch.uint8)
    batch[0, :2, :2] = torch.tensor([0, 1, 1, 1]).reshape(2, 2, 1)
    batch[0, :2, 2:] = torch.tensor([2, 3, 4, 5]).reshape(2, 2, 1)
    batch[0, 2:, :] = 255
    out = area_resize(batch, (2, 2))
    assert out.shape == (1, 2, 2, 3) and out.is_contiguous() and out.dtype == torch.uint8
    assert out[0, :, :, 0].tolist() == [[1, 4], [255, 255]]  # 0.75 -> 1, 3.5 -> 4


# --- the option, the run and the CLI -----------------------------------------------------------

@pytest.fixture
def fake_gpu(monkeypatch):
    """gpu_ingest believes it has a GPU and decodes with the Pillow decoder on the CPU."""
    fake = PillowDecoder()

    def decode_jpegs(sources, device, decoder=None):
        return gpu_decode.decode_jpegs(sources, device="cpu", decoder=fake)

    monkeypatch.setattr(gpu_ingest, "gpu_decode_available", lambda device="cuda": (True, "fake"))
    monkeypatch.setattr(gpu_ingest, "decode_jpegs", decode_jpegs)
    return fake


def test_ingest_on_cuda_commits_the_cpu_shards_and_resumes(folder, tmp_path, fake_gpu):
    src, expected = folder
    cpu_opts, gpu_opts = IngestOptions(size=32, shard_size=7), IngestOptions(size=32, shard_size=7, device="cuda")
    cpu = ingest(walk_images(src), tmp_path / "cpu", cpu_opts, workers=0, progress=False)
    gpu = ingest(walk_images(src), tmp_path / "gpu", gpu_opts, workers=4, progress=False)
    assert fake_gpu.calls and (gpu.inputs, gpu.ok, gpu.errors, gpu.shards_written) == \
        (cpu.inputs, cpu.ok, cpu.errors, cpu.shards_written)
    assert {name.rsplit("_", 1)[0] for name in fake_gpu.threads} == {"gpu-ingest"}  # the two chunk threads
    a, b = (read_table(tmp_path / d / "manifest.csv") for d in ("cpu", "gpu"))
    same = ["id", "path", "shard", "index", "height", "width", "status", "error", "message"]
    assert a[same].equals(b[same]) and len(a) == len(expected)
    for shard in sorted(p.name for p in (tmp_path / "cpu").glob("shard-*.npy")):
        assert np.load(tmp_path / "cpu" / shard).shape == np.load(tmp_path / "gpu" / shard).shape
    assert json.loads((tmp_path / "gpu" / "ingest.json").read_text())["device"] == "cuda"
    assert "device" not in json.loads((tmp_path / "cpu" / "ingest.json").read_text())  # older ingests resume
    # Resume: a shard whose CSV is gone is done again, the others are skipped.
    (tmp_path / "gpu" / "shard-00001.csv").unlink()
    again = ingest(walk_images(src), tmp_path / "gpu", gpu_opts, progress=False)
    assert (again.shards_written, again.shards_skipped) == (1, cpu.shards_written - 1)
    assert read_table(tmp_path / "gpu" / "manifest.csv").equals(b)
    assert not list((tmp_path / "gpu").glob(".*.tmp"))
    with pytest.raises(UserError, match="'device': 'cuda'"):  # its crops are not the CPU's: not mixed
        ingest(walk_images(src), tmp_path / "gpu", cpu_opts, workers=0, progress=False)


def test_device_option_is_checked():
    with pytest.raises(UserError, match="device must be 'cpu' or 'cuda'"):
        IngestOptions(device="tpu")
    with pytest.raises(UserError, match="roi decoder runs on the CPU"):
        IngestOptions(device="cuda", decoder="roi")
    assert chunk_function(IngestOptions(), 3, None) == (process_chunk, 3)
    with pytest.raises(UserError, match="does not run on an executor"):
        chunk_function(IngestOptions(device="cuda"), 3, object())


def test_ingest_on_cuda_without_it_is_one_line_exit_2(run_cli, folder, tmp_path):
    src, _ = folder
    out = tmp_path / "out"
    done = run_cli("ingest", str(src), "--out", str(out), "--device", "cuda", "--quiet",
                   env={"CUDA_VISIBLE_DEVICES": ""})  # whatever this machine has
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("galaxyzoo ingest: error: cannot ingest on cuda: "), done.stderr
    assert "torchvision" in lines[0] or "no CUDA device" in lines[0]
    assert "Traceback" not in done.stderr and not (out / "ingest.json").exists()
    helped = run_cli("ingest", "--help")
    assert "--device {cpu,cuda}" in helped.stdout


_AVAILABLE, _WHY = gpu_decode.gpu_decode_available()


@pytest.mark.gpu
@pytest.mark.skipif(not _AVAILABLE, reason=f"no GPU JPEG decoding ({_WHY})")
def test_nvjpeg_ingest_gives_the_cpu_rows(folder):
    """torchvision's nvJPEG and ops' CUDA kernels: the same rows as the CPU, boxes within the
    tolerance of the fake-decoder tests (nvJPEG's IDCT is a level or two off libjpeg's)."""
    pytest.importorskip("simplejpeg", reason="the CPU path to compare with decodes with simplejpeg")
    src, _ = folder
    items = list(walk_images(src))
    files = sorted((SAMPLE / "images").glob("*.jpg"))[:200]
    items += [(f.stem, str(f)) for f in files]
    opts = IngestOptions(size=32 if not files else 64)
    cpu_pixels, cpu_rows = process_chunk(items, opts)
    gpu_pixels, gpu_rows = process_chunk_gpu(items, opts)
    assert_same_rows_but_boxes(cpu_pixels, cpu_rows, gpu_pixels, gpu_rows)
    agreement = box_agreement(cpu_rows, gpu_rows)
    assert agreement["within 4"] >= 0.8 and agreement["within 10%"] >= 0.9 and agreement["decoded"] >= 0.95, agreement
    assert np.abs(cpu_pixels.astype(int) - gpu_pixels.astype(int)).mean() < 4
