"""ROI-only JPEG decoding (issue 17): agreement with the full decode, bad inputs, fallback.

Tolerances are the ones measured on the real GZ2 sample (400 files, 2026-11-30): with the ROI
found at 1/2 scale (``roi_denom=2``) 97% of boxes are within 1 original pixel of
``crop_blobs``' and the crops of those differ by 0.009 levels on average (max 15, at box
edges); with the default 1/8 scale (DC coefficients only) boxes differ by a median 12 pixels.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from galaxyzoo.data import roi_decode
from galaxyzoo.data.bad_inputs import bad_input_corpus
from galaxyzoo.errors import DecodeError
from galaxyzoo.workflows.ingest import IngestOptions, crop_blobs, crop_blobs_roi, to_original

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "gz2_sample" / "images"
native = pytest.mark.skipif(not roi_decode.AVAILABLE, reason="built without libjpeg-turbo headers")
OPTS = IngestOptions(size=64)


@pytest.fixture(scope="module")
def blobs() -> list[bytes]:
    files = sorted(SAMPLE.glob("*.jpg"))
    if not files:
        pytest.skip(f"gz2_sample not found at {SAMPLE}")
    return [p.read_bytes() for p in files[:: len(files) // 96][:96]]


def _boxes(info: np.ndarray) -> np.ndarray:
    return np.array([to_original(i[:4], tuple(i[4:6]), tuple(i[6:8])) for i in info])


@native
def test_roi_at_half_scale_matches_the_full_decode(blobs):
    ref = crop_blobs(blobs, OPTS)
    out, info, outcomes = roi_decode.decode_roi(blobs, 64, roi_denom=2)
    assert all(o is None for o in outcomes)
    assert [tuple(i[4:6]) for i in info] == ref.decoded
    off = np.abs(_boxes(info) - np.array(ref.boxes)).max(axis=1)
    same = off <= 1
    assert same.mean() >= 0.9, off
    diff = np.abs(out[same].astype(int) - ref.pixels[same].astype(int))
    assert diff.mean() < 0.1 and diff.max() <= 24


@native
def test_roi_at_eighth_scale_is_close(blobs):
    ref = crop_blobs(blobs, OPTS)
    out, info, outcomes = roi_decode.decode_roi(blobs, 64, roi_denom=8)  # DC coefficients only
    assert all(o is None for o in outcomes) and out.shape == (len(blobs), 3, 64, 64)
    off = np.abs(_boxes(info) - np.array(ref.boxes)).max(axis=1)
    assert np.median(off) <= 16


@native
@pytest.mark.parametrize("name", sorted(bad_input_corpus()))
def test_bad_inputs_get_the_full_decoders_reason(name):
    data, expected = bad_input_corpus()[name]
    ref = crop_blobs([data], OPTS)
    got = crop_blobs_roi([data], OPTS)
    want = "ok" if ref.errors[0] is None else ref.errors[0].reason
    assert ("ok" if got.errors[0] is None else got.errors[0].reason) == want
    assert want == expected or expected == "ok"
    assert len(got.pixels) == (got.errors[0] is None)


@native
def test_corrupt_bytes_never_crash():
    data, _ = bad_input_corpus()["progressive.jpg"]
    rng = np.random.default_rng(0)
    for _ in range(200):
        b = bytearray(data)
        for j in rng.integers(2, len(b), 4):
            b[j] = int(rng.integers(0, 256))
        _, _, outcomes = roi_decode.decode_roi([bytes(b)], 16)
        assert outcomes[0] is None or outcomes[0] == roi_decode.FALLBACK or isinstance(outcomes[0], DecodeError)


def test_without_the_native_decoder_everything_falls_back(blobs, monkeypatch):
    monkeypatch.setattr(roi_decode, "AVAILABLE", False)
    _, _, outcomes = roi_decode.decode_roi(blobs[:4], 64)
    assert outcomes == [roi_decode.FALLBACK] * 4
    ref, got = crop_blobs(blobs[:8], OPTS), crop_blobs_roi(blobs[:8], OPTS)
    assert np.array_equal(ref.pixels, got.pixels) and ref.boxes == got.boxes


def test_decoder_option_is_checked():
    from galaxyzoo.errors import UserError

    with pytest.raises(UserError):
        IngestOptions(decoder="fast")
