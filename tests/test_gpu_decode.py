"""galaxyzoo.data.gpu_decode: batched GPU JPEG decoding with per-item errors.

Everywhere: the host checks, the error handling and the item-by-item retry, with a fake
decoder injected (Pillow on the CPU, failing the whole batch on one bad file as nvJPEG does).
@pytest.mark.gpu: torchvision's real decode_jpeg on a device, fed to ops' CUDA crop.
"""
from __future__ import annotations

import io
import sys
import time
import types
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from PIL import Image

from galaxyzoo import ops
from galaxyzoo.data import gpu_decode
from galaxyzoo.data.bad_inputs import without_quantization_tables
from galaxyzoo.data.gpu_decode import decode_jpegs, gpu_decode_available, to_batch
from galaxyzoo.errors import DECODE_REASONS


def jpeg(rng: np.random.Generator, h: int, w: int, mode: str = "RGB") -> bytes:
    pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).convert(mode).save(out, format="JPEG", quality=90)
    return out.getvalue()


def png(rng: np.random.Generator) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(out, format="PNG")
    return out.getvalue()


def pillow_rgb(data) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(bytes(data))).convert("RGB"))


class FakeDecoder:
    """decode_jpeg's contract on the CPU: 3×H×W uint8 per file, and the whole call raises
    when any file fails (nvJPEG's batched decode). Records the batch size of every call."""

    def __init__(self):
        self.calls: list[int] = []

    def __call__(self, datas: list, device: str) -> list:
        self.calls.append(len(datas))
        outs = []
        for data in datas:
            assert isinstance(data, torch.Tensor) and data.dtype == torch.uint8 and data.ndim == 1
            image = Image.open(io.BytesIO(data.numpy().tobytes()))
            image.load()  # raises on truncated or corrupt data
            outs.append(torch.from_numpy(np.array(image.convert("RGB"))).permute(2, 0, 1).to(device))
        return outs


@pytest.fixture
def files(tmp_path):
    """(sources, expected reason or None per source): good JPEGs (RGB and grey) among every
    kind of bad one, as paths and as bytes."""
    rng = np.random.default_rng(1)
    good, grey = jpeg(rng, 24, 40), jpeg(rng, 17, 9, "L")
    (tmp_path / "good.jpg").write_bytes(good)
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "text.jpg").write_text("not an image")
    cases = [
        (str(tmp_path / "good.jpg"), None),
        (grey, None),
        (good[:-100], "truncated"),  # the header intact, the end of the scan missing
        (without_quantization_tables(good), "corrupt"),
        (str(tmp_path / "missing.jpg"), "missing"),
        (str(tmp_path / "empty.jpg"), "empty"),
        (str(tmp_path / "text.jpg"), "not_an_image"),
        (png(rng), "unsupported"),
        (jpeg(rng, 8, 8, "CMYK"), "unsupported"),
        (jpeg(rng, 30, 12), None),
    ]
    return [c[0] for c in cases], [c[1] for c in cases]


def test_bad_files_become_one_line_errors_and_only_they_fail(files):
    sources, reasons = files
    fake = FakeDecoder()
    got = decode_jpegs(sources, device="cpu", decoder=fake)
    assert [i for i, _ in got.errors] == [i for i, r in enumerate(reasons) if r], got.errors
    for i, err in got.errors:
        assert err.reason == reasons[i] and err.reason in DECODE_REASONS, (i, err.reason, str(err))
        assert "\n" not in str(err) and str(err)
        if isinstance(sources[i], str):
            assert sources[i] in str(err)
    for i, reason in enumerate(reasons):
        image = got.images[i]
        assert (image is None) == (reason is not None)
        if image is not None:
            data = sources[i] if isinstance(sources[i], bytes) else open(sources[i], "rb").read()
            assert image.shape[2] == 3 and image.dtype == torch.uint8
            np.testing.assert_array_equal(image.numpy(), pillow_rgb(data))
    # The host checks keep the unreadable files away from the decoder; the batch of the five
    # others fails on the two bad JPEGs, then each is decoded alone.
    assert fake.calls == [5, 1, 1, 1, 1, 1]


def test_a_clean_batch_is_one_decoder_call():
    rng = np.random.default_rng(2)
    sources = [jpeg(rng, 16, 16) for _ in range(4)]
    fake = FakeDecoder()
    got = decode_jpegs(sources, device="cpu", decoder=fake, num_threads=2)
    assert fake.calls == [4] and got.errors == []
    batch, rows, sizes = to_batch(got.images)
    assert batch.shape == (4, 16, 16, 3) and batch.is_contiguous() and rows == [0, 1, 2, 3]
    assert sizes.tolist() == [[16, 16]] * 4


def test_a_batch_failure_that_is_no_file_s_fault_is_retried_and_succeeds():
    """Out of memory for the whole batch, or a wrong number of outputs: retried item by item."""
    rng = np.random.default_rng(3)
    sources = [jpeg(rng, 8, 8) for _ in range(3)]
    real = FakeDecoder()

    def oom_for_batches(datas, device):
        if len(datas) > 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (batch)")
        return real(datas, device)

    got = decode_jpegs(sources, device="cpu", decoder=oom_for_batches)
    assert got.errors == [] and all(im is not None for im in got.images) and real.calls == [1, 1, 1]
    short = decode_jpegs(sources, device="cpu", decoder=lambda datas, device: real(datas, device)[:1])
    assert short.errors == [] and all(im is not None for im in short.images)


def test_a_decoder_output_of_the_wrong_shape_is_an_error_for_that_item():
    rng = np.random.default_rng(4)
    sources = [jpeg(rng, 8, 8), jpeg(rng, 8, 6)]
    real = FakeDecoder()

    def bad_second(datas, device):
        outs = real(datas, device)
        return outs[:1] + [outs[1][:1]] if len(outs) == 2 else outs  # one channel instead of three

    got = decode_jpegs(sources, device="cpu", decoder=bad_second)
    assert got.images[0] is not None and got.images[1] is None
    assert [(i, e.reason) for i, e in got.errors] == [(1, "corrupt")] and "(3, 8, 6)" in str(got.errors[0][1])


def test_headers_over_the_pixel_limit_are_refused_before_decoding():
    rng = np.random.default_rng(5)
    fake = FakeDecoder()
    got = decode_jpegs([jpeg(rng, 64, 64), jpeg(rng, 8, 8)], device="cpu", decoder=fake, max_pixels=1000)
    assert [(i, e.reason) for i, e in got.errors] == [(0, "too_large")] and fake.calls == [1]


def test_no_file_reaches_the_decoder_when_all_are_bad(tmp_path):
    fake = FakeDecoder()
    got = decode_jpegs([str(tmp_path / "nope.jpg"), b"\xff\xd8\xff\xe0"], device="cpu", decoder=fake)
    assert [e.reason for _, e in got.errors] == ["missing", "truncated"] and fake.calls == []
    batch, rows, sizes = to_batch(got.images)
    assert batch.shape == (0, 0, 0, 3) and rows == [] and sizes.shape == (0, 2)


def test_mixed_sizes_are_zero_padded_and_feed_crop_resize_with_their_own_boxes():
    rng = np.random.default_rng(6)
    sources = [jpeg(rng, 20, 30), b"junk", jpeg(rng, 26, 14)]
    got = decode_jpegs(sources, device="cpu", decoder=FakeDecoder())
    batch, rows, sizes = to_batch(got.images)
    assert batch.shape == (2, 26, 30, 3) and rows == [0, 2] and sizes.tolist() == [[20, 30], [26, 14]]
    assert torch.equal(batch[0, :20, :30], got.images[0]) and not batch[0, 20:].any() and not batch[1, :, 14:].any()
    boxes = torch.stack([torch.zeros(2, dtype=torch.int64), torch.zeros(2, dtype=torch.int64),
                         sizes[:, 1], sizes[:, 0]], 1)
    out = ops.crop_resize(batch, boxes, 8)
    alone = ops.crop_resize(got.images[2].contiguous()[None], [[0, 0, 14, 26]], 8)
    assert torch.equal(out[1], alone[0])


def test_availability_names_what_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "torchvision", None)  # import fails, wherever it is installed
    ok, why = gpu_decode_available()
    assert not ok and "torchvision" in why
    with pytest.raises(RuntimeError, match="not available: torchvision"):
        decode_jpegs([b"\xff\xd8\xff"])

    fake_io = types.ModuleType("torchvision.io")
    fake_io.decode_jpeg = lambda *a, **k: None
    fake_tv = types.ModuleType("torchvision")
    fake_tv.io, fake_tv.__version__ = fake_io, "0.18.1+cu121"
    monkeypatch.setitem(sys.modules, "torchvision", fake_tv)
    monkeypatch.setitem(sys.modules, "torchvision.io", fake_io)
    ok, why = gpu_decode_available()
    assert not ok and "0.19" in why
    fake_tv.__version__ = "0.21.0"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    ok, why = gpu_decode_available()
    assert not ok and "no CUDA device" in why
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert gpu_decode_available() == (True, "torchvision 0.21.0 decode_jpeg (nvJPEG) on cuda")
    assert not gpu_decode_available("cpu")[0]


def test_the_frame_header_parser_reads_sizes_and_components():
    rng = np.random.default_rng(7)
    assert gpu_decode._jpeg_frame(jpeg(rng, 13, 21)) == (13, 21, 3)
    assert gpu_decode._jpeg_frame(jpeg(rng, 5, 7, "L")) == (5, 7, 1)
    assert gpu_decode._jpeg_frame(jpeg(rng, 5, 7, "CMYK"))[2] == 4


_AVAILABLE, _WHY = gpu_decode_available()


@pytest.mark.gpu
@pytest.mark.skipif(not _AVAILABLE, reason=f"no GPU JPEG decoding ({_WHY})")
def test_nvjpeg_decodes_a_batch_with_a_bad_file_and_feeds_the_cuda_crop():
    rng = np.random.default_rng(8)
    sky = np.clip(rng.normal(10, 3, (2, 96, 96, 3)), 0, 255).astype(np.uint8)
    sky[:, 30:60, 40:70] = 200
    sources = []
    for image in sky:
        out = io.BytesIO()
        Image.fromarray(image).save(out, format="JPEG", quality=95)
        sources.append(out.getvalue())
    sources.insert(1, sources[0][: len(sources[0]) // 2])
    got = decode_jpegs(sources)
    assert [(i, e.reason) for i, e in got.errors] == [(1, "truncated")]
    batch, rows, _ = to_batch(got.images)
    assert batch.device.type == "cuda" and rows == [0, 2]
    # nvJPEG's IDCT and upsampling may differ from libjpeg's by a level or two.
    want = torch.from_numpy(np.stack([pillow_rgb(sources[i]) for i in rows])).int()
    assert (batch.cpu().int() - want).abs().float().mean() < 1.0
    out = ops.preprocess(batch, 32, angles=[30.0, 200.0])
    assert out.device.type == "cuda" and out.shape == (2, 3, 32, 32)


def test_torchvision_decode_runs_one_call_at_a_time_after_the_stream_is_idle(monkeypatch):
    """torchvision keeps one nvJPEG decoder per process and writes its outputs from a stream of
    its own: calls are serialised, each after the caller's stream has synchronised."""
    events, inside = [], []

    def decode_jpeg(datas, mode=None, device=None):
        inside.append(1)
        events.append(("decode", len(inside)))
        time.sleep(0.02)  # long enough for another thread to try to come in
        inside.pop()
        return [torch.zeros((3, 2, 2), dtype=torch.uint8) for _ in datas]

    class Stream:
        def synchronize(self):
            events.append(("sync", len(inside)))

    fake_io = types.ModuleType("torchvision.io")
    fake_io.decode_jpeg, fake_io.ImageReadMode = decode_jpeg, types.SimpleNamespace(RGB="RGB")
    monkeypatch.setitem(sys.modules, "torchvision.io", fake_io)
    monkeypatch.setattr(torch.cuda, "current_stream", lambda device=None: Stream())
    with ThreadPoolExecutor(4) as pool:
        outs = list(pool.map(lambda k: gpu_decode._torchvision_decode([b"x"] * k, "cuda"), range(1, 9)))
    assert [len(o) for o in outs] == list(range(1, 9))
    assert events == [("sync", 0), ("decode", 1)] * 8  # never two inside, each after a sync
