"""``predict --device cuda`` with JPEGs decoded on the GPU (galaxyzoo.data.gpu_load), and the
read-ahead that keeps the model fed.

Everywhere: the device resizes against the host's (Pillow's resize bit for bit), and the GPU
load path run on the CPU with a Pillow decoder in nvJPEG's place (tests/fake_nvjpeg.py)
against the host's load_batch and predict on the same files, bad inputs included: the same
failures with the same messages, pixels within a grey level, the same catalog rows.
@pytest.mark.gpu: the same with torchvision's nvJPEG on a CUDA device.
"""
from __future__ import annotations

import functools
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from fake_nvjpeg import PillowDecoder
from galaxyzoo.cli import main
from galaxyzoo.data import device_resize
from galaxyzoo.data.bad_inputs import encode, galaxy_like, write_bad_inputs
from galaxyzoo.data.decode import fit_square, load_batch
from galaxyzoo.data.gpu_decode import gpu_decode_available
from galaxyzoo.data.gpu_load import load_batch_gpu
from galaxyzoo.data.inputs import walk_images
from galaxyzoo.errors import UserError
from galaxyzoo.workflows import batch_loading, predict
from galaxyzoo.workflows.predict import FileChunk, Predictor, choose_loader, read_ahead
from galaxyzoo.workflows.train import train
from galaxyzoo.workflows.train_config import TrainConfig

SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "gz2_sample"


@pytest.mark.parametrize("shape, size", [((106, 106), 64), ((53, 53), 64), ((424, 424), 64), ((212, 212), 128),
                                         ((120, 80), 64), ((33, 40), 64), ((64, 64), 64), ((7, 9), 64),
                                         ((300, 301), 97), ((1, 5), 3)])
def test_device_fit_square_is_pillows_bit_for_bit(shape, size):
    batch = np.random.default_rng(sum(shape) + size).integers(0, 256, (3, *shape, 3), dtype=np.uint8)
    got = device_resize.fit_square(torch.from_numpy(batch), size).numpy()
    assert got.shape == (3, size, size, 3)
    np.testing.assert_array_equal(got, np.stack([fit_square(image, size) for image in batch]))


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Galaxy-like JPEGs that the host decodes at full scale (48 px) and at a reduced DCT scale
    (424 px → 1/8 → 53 px for 48-px inputs), odd shapes, and the bad-input corpus."""
    root = tmp_path_factory.mktemp("predict_inputs")
    for i, (h, w) in enumerate([(48, 48), (424, 424), (120, 80), (61, 203), (200, 200)] * 2):
        (root / f"g{i:02d}.jpg").write_bytes(encode(galaxy_like(h, w, seed=i)))
    write_bad_inputs(root / "bad")
    return root


def test_gpu_load_gives_the_host_failures_and_pixels_within_grey_levels(folder):
    paths = [path for _, path in walk_images(folder)]
    decoder = PillowDecoder()
    host, host_failed = load_batch(paths, 48)
    gpu, gpu_failed = load_batch_gpu(paths, 48, device="cpu", decoder=decoder)
    assert [(i, e.reason, str(e)) for i, e in gpu_failed] == [(i, e.reason, str(e)) for i, e in host_failed]
    assert len(host_failed) >= 8 and sum(decoder.calls) >= 10  # the bad corpus, the galaxies on the "GPU"
    diff = np.abs(gpu.numpy().astype(int) - host.astype(int))
    # measured: max 4, mean 0.09 (1/8, 5/8 and 7/8 scales among these shapes)
    assert diff.max() <= 6 and np.percentile(diff, 99.9) <= 2 and diff.mean() < 0.2, (diff.max(), diff.mean())
    full_scale = [i for i, p in enumerate(paths) if Path(p).name in ("g00.jpg", "g05.jpg")]
    np.testing.assert_array_equal(gpu.numpy()[full_scale], host[full_scale])  # no DCT scaling: exact


@pytest.mark.skipif(not (SAMPLE / "images").is_dir(), reason=f"GZ2 sample absent: put it at {SAMPLE}")
@pytest.mark.parametrize("size", [64, 106, 256])
def test_gpu_load_on_gz2_images_is_the_hosts_within_grey_levels(size):
    paths = sorted((SAMPLE / "images").glob("*.jpg"))[:48]
    host, _ = load_batch(paths, size)
    gpu, failed = load_batch_gpu(paths, size, device="cpu", decoder=PillowDecoder())
    assert not failed
    diff = np.abs(gpu.numpy().astype(int) - host.astype(int))
    # 1/4 for 64 and 106 px, 5/8 for 256: measured means 0.18-0.19 grey levels; a few values
    # at sharp colour edges differ more (max 10), 99.9% by at most 2-3.
    assert diff.mean() < 0.3 and np.percentile(diff, 99.9) <= 3, (size, diff.max(), diff.mean())


@pytest.fixture(scope="module")
def votes_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("gpu_predict") / "run"
    config = TrainConfig(model="two_conv", dataset="synthetic_votes", input_size=24, epochs=1, batch_size=16,
                         dataset_options={"num_samples": 32, "image_size": 48})
    return train(config, run, workers=0, progress=False).best


def test_predict_rows_from_gpu_decoding_match_the_hosts(votes_run, folder):
    items = tuple(walk_images(folder))
    predictor = Predictor(votes_run, "cpu", tta=4, decode="cpu")
    assert predictor.loader is load_batch
    host = predictor.predict_chunk(FileChunk(items), batch_size=7, threads=2)
    predictor.loader = functools.partial(load_batch_gpu, device="cpu", decoder=PillowDecoder())
    gpu = predictor.predict_chunk(FileChunk(items), batch_size=7, threads=2)
    assert len(gpu) == len(host) == len(items)
    fractions = slice(1, 38)  # GalaxyID, Class1.1 ... Class11.6, path, status, error
    for g, h in zip(gpu, host):
        assert g[:1] + g[38:] == h[:1] + h[38:]  # id, path, status, error message
        if h[39] == "ok":
            assert np.allclose(np.float64(g[fractions]), np.float64(h[fractions]), atol=0.01)
    assert sum(h[39] == "error" for h in host) >= 8


def test_decode_choice_follows_the_device_and_refuses_gpu_without_one(monkeypatch):
    assert choose_loader("cpu", torch.device("cpu")) is load_batch
    assert choose_loader("auto", torch.device("cpu")) is load_batch  # a CPU model decodes on the host
    with pytest.raises(UserError, match="cannot decode on the GPU: the model runs on cpu"):
        choose_loader("gpu", torch.device("cpu"))
    with pytest.raises(UserError, match="decode must be one of auto, cpu, gpu"):
        choose_loader("nvjpeg", torch.device("cpu"))
    monkeypatch.setattr(batch_loading, "gpu_decode_available", lambda device: (True, "fake nvJPEG"))
    chosen = choose_loader("auto", torch.device("cuda", 1))
    assert chosen.func is load_batch_gpu and chosen.keywords == {"device": "cuda:1"}
    monkeypatch.setattr(batch_loading, "gpu_decode_available", lambda device: (False, "torchvision is not installed"))
    assert choose_loader("auto", torch.device("cuda")) is load_batch
    with pytest.raises(UserError, match="torchvision is not installed"):
        choose_loader("gpu", torch.device("cuda"))


def test_cli_decode_choices_are_predicts(votes_run, folder, tmp_path, capsys):
    parser_choices = ("auto", "cpu", "gpu")  # predict_cmd spells them out: it parses without torch
    assert predict.DECODE_CHOICES == parser_choices
    code = main(["predict", str(votes_run), str(folder), "--out", str(tmp_path / "c.csv"), "--device", "cpu",
                 "--decode", "gpu", "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "cannot decode on the GPU" in err[0]
    assert not (tmp_path / "c.csv").exists()


def test_read_ahead_decodes_the_next_batch_while_one_is_used():
    started = []
    second_started = threading.Event()

    def batches():
        for k in range(4):
            started.append(k)
            if k == 1:
                second_started.set()
            yield k

    got = []
    for batch in read_ahead(batches()):
        if batch == 0:  # the consumer holds batch 0: batch 1 is being made meanwhile
            assert second_started.wait(5)
        got.append(batch)
    assert got == [0, 1, 2, 3] and started == [0, 1, 2, 3]


def test_read_ahead_passes_a_failure_on():
    def batches():
        yield 1
        raise OSError("disk gone")

    it = read_ahead(batches())
    assert next(it) == 1
    with pytest.raises(OSError, match="disk gone"):
        next(it)


@pytest.mark.gpu
@pytest.mark.skipif(not gpu_decode_available()[0], reason=f"no GPU JPEG decoding ({gpu_decode_available()[1]})")
def test_nvjpeg_load_matches_the_host(folder):
    pytest.importorskip("simplejpeg", reason="the host path to compare with decodes with simplejpeg")
    paths = [path for _, path in walk_images(folder)]
    host, host_failed = load_batch(paths, 48)
    gpu, gpu_failed = load_batch_gpu(paths, 48, device="cuda")
    assert gpu.is_cuda
    assert [(i, e.reason) for i, e in gpu_failed] == [(i, e.reason) for i, e in host_failed]
    diff = np.abs(gpu.cpu().numpy().astype(int) - host.astype(int))
    assert diff.mean() < 1.5, diff.mean()  # nvJPEG's IDCT and upsampling differ from libjpeg's by a level or two


def test_jpeg_rescale_keeps_flat_blocks_and_is_the_identity_at_full_scale():
    flat = torch.full((2, 61, 203, 3), 77, dtype=torch.uint8)
    for m in (3, 5, 6, 7):  # the band-limited scales
        size = (-(-61 * m // 8), -(-203 * m // 8))
        out = device_resize.jpeg_rescale(flat, size)
        assert out.shape == (2, *size, 3) and bool((out == 77).all()), m
    noise = torch.randint(0, 256, (1, 40, 48, 3), dtype=torch.uint8)
    assert torch.equal(device_resize.jpeg_rescale(noise, (40, 48)), noise)
    np.testing.assert_allclose(np.array(device_resize._band_limit(8)), np.eye(8), atol=1e-12)


@pytest.mark.skipif(not (SAMPLE / "images").is_dir(), reason=f"GZ2 sample absent: put it at {SAMPLE}")
def test_jpeg_rescale_gives_libjpegs_scaled_decode_of_gz2_images():
    from galaxyzoo.data.decode import decode_image

    blobs = [p.read_bytes() for p in sorted((SAMPLE / "images").glob("*.jpg"))[:16]]
    full = torch.stack([torch.from_numpy(decode_image(b)) for b in blobs])
    for wanted in (53, 106, 159, 212, 265, 318, 371):  # M = 1 ... 7 for 424-px images
        host = np.stack([decode_image(b, wanted) for b in blobs]).astype(int)
        diff = np.abs(device_resize.jpeg_rescale(full, host.shape[1:3]).numpy().astype(int) - host)
        # measured on 48 images: means 0.10-0.24, 99.9th percentile 2-3 levels
        assert diff.mean() < 0.3 and np.percentile(diff, 99.9) <= 3, (wanted, diff.mean())
