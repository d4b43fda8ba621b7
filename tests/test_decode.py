"""Decoding: exact pixels on good files, DCT scaling, and a clear reason for every bad file."""
from __future__ import annotations

import io
import os
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from galaxyzoo.data.bad_inputs import bad_input_corpus, encode, galaxy_like, write_bad_inputs
from galaxyzoo.data.decode import (
    MAX_PIXELS,
    decode_image,
    fit_square,
    load_batch,
    read_header,
    read_image,
    sniff_format,
    verify_images,
)
from galaxyzoo.errors import DECODE_REASONS, DecodeError

RGB = galaxy_like(96, 128)
JPEG = encode(RGB)


def _pillow_rgb(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_jpeg_decodes_to_the_same_pixels_as_pillow():
    out = decode_image(JPEG)
    assert out.dtype == np.uint8 and out.shape == (96, 128, 3)
    np.testing.assert_array_equal(out, _pillow_rgb(JPEG))
    assert np.abs(out.astype(int) - RGB).mean() < 3  # and close to what was encoded


@pytest.mark.parametrize("min_size, expected", [(48, (48, 64)), (40, (48, 64)), (49, (60, 80)), (12, (12, 16)), (1, (12, 16))])
def test_dct_scaling_picks_the_smallest_scale_covering_min_size(min_size, expected):
    out = decode_image(JPEG, min_size=min_size)
    assert out.shape[:2] == expected
    # A scaled decode approximates the area-downscaled full image.
    reference = np.asarray(Image.fromarray(decode_image(JPEG)).resize(expected[::-1], Image.Resampling.BOX))
    assert np.abs(out.astype(int) - reference).mean() < 3


def test_grayscale_jpeg_is_replicated_to_rgb():
    gray = encode(Image.fromarray(RGB).convert("L"))
    out = decode_image(gray)
    assert out.shape == (96, 128, 3)
    assert (out[..., 0] == out[..., 1]).all() and (out[..., 1] == out[..., 2]).all()
    np.testing.assert_array_equal(out[..., 0], np.asarray(Image.open(io.BytesIO(gray))))


def test_cmyk_jpeg_goes_through_pillow_and_keeps_its_colours():
    blocks = np.zeros((32, 48, 3), np.uint8)
    blocks[:, :16], blocks[:, 16:32], blocks[:, 32:] = (200, 30, 30), (30, 200, 30), (20, 20, 220)
    cmyk = encode(Image.fromarray(blocks).convert("CMYK"), quality=95)
    assert Image.open(io.BytesIO(cmyk)).mode == "CMYK"
    out = decode_image(cmyk)
    assert out.shape == (32, 48, 3)
    np.testing.assert_allclose(out[16, [8, 24, 40]], blocks[16, [8, 24, 40]], atol=4)
    assert decode_image(cmyk, min_size=16).shape == (16, 24, 3)  # Pillow's draft() scales too


def test_png_named_jpg_is_decoded_by_content_and_alpha_is_dropped():
    np.testing.assert_array_equal(decode_image(encode(RGB, "PNG")), RGB)
    rgba = np.dstack([RGB, np.full(RGB.shape[:2], 7, np.uint8)])
    np.testing.assert_array_equal(decode_image(encode(rgba, "PNG")), RGB)
    assert sniff_format(encode(RGB, "PNG")) == "png" and sniff_format(JPEG) == "jpeg"
    assert sniff_format(b"GIF89a") is None


def test_sixteen_bit_png_keeps_the_high_byte():
    deep = (np.arange(40 * 30, dtype=np.uint16).reshape(30, 40) * 50).astype(np.uint16)
    out = decode_image(encode(Image.fromarray(deep), "PNG"))
    np.testing.assert_array_equal(out[..., 0], (deep >> 8).astype(np.uint8))
    assert (out[..., 2] == out[..., 0]).all()


def test_every_bad_file_kind_gives_its_reason_and_names_the_file(tmp_path):
    expected = write_bad_inputs(tmp_path)
    assert len([r for r in expected.values() if r != "ok"]) >= 10
    for name, outcome in expected.items():
        path = tmp_path / name
        if outcome == "ok":
            image = read_image(path)
            assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3, name
            continue
        with pytest.raises(DecodeError) as info:
            read_image(path)
        assert info.value.reason == outcome, (name, str(info.value))
        assert str(path) in str(info.value)


def test_decode_image_reasons_without_a_file():
    for name, (content, outcome) in bad_input_corpus(seed=3).items():
        if outcome == "ok":
            assert decode_image(content).shape[2] == 3
        else:
            with pytest.raises(DecodeError) as info:
                decode_image(content)
            assert info.value.reason == outcome, name


def test_bomb_check_happens_before_decoding_and_the_limit_is_adjustable():
    # A real 96×128 image over a lowered limit, on both the libjpeg-turbo and Pillow paths.
    cmyk = encode(Image.fromarray(RGB).convert("CMYK"))
    for data in (JPEG, cmyk, encode(RGB, "PNG")):
        with pytest.raises(DecodeError) as info:
            decode_image(data, max_pixels=96 * 128 - 1)
        assert info.value.reason == "too_large"
        assert decode_image(data, max_pixels=96 * 128).shape == (96, 128, 3)
    assert MAX_PIXELS < 60000 * 60000


def test_missing_unreadable_and_oversized_files(tmp_path):
    with pytest.raises(DecodeError) as info:
        read_image(tmp_path / "nope.jpg")
    assert info.value.reason == "missing" and "nope.jpg" in str(info.value)
    big = tmp_path / "big.jpg"
    big.write_bytes(JPEG)
    with pytest.raises(DecodeError) as info:
        read_image(big, max_bytes=len(JPEG) - 1)
    assert info.value.reason == "too_large"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can read a chmod 000 file")
def test_permission_denied_is_unreadable(tmp_path):
    locked = tmp_path / "locked.jpg"
    locked.write_bytes(JPEG)
    locked.chmod(0)
    try:
        with pytest.raises(DecodeError) as info:
            read_image(locked)
        assert info.value.reason == "unreadable"
    finally:
        locked.chmod(0o644)


def test_decode_error_survives_pickling_and_rejects_unknown_reasons():
    import pickle

    err = pickle.loads(pickle.dumps(DecodeError("truncated", "x.jpg: cut short")))
    assert err.reason == "truncated" and str(err) == "x.jpg: cut short"
    with pytest.raises(ValueError):
        DecodeError("gremlins", "?")


def test_fit_square_centre_crops_then_area_resizes():
    wide = np.zeros((40, 60, 3), np.uint8)
    wide[:, 10:50] = np.arange(40, dtype=np.uint8)[None, :, None] * 5  # the central 40×40
    out = fit_square(wide, 20)
    assert out.shape == (20, 20, 3)
    expected = wide[:, 10:50].reshape(20, 2, 20, 2, 3).mean(axis=(1, 3))  # exact 2×2 area means
    assert np.abs(out.astype(float) - expected).max() <= 1
    np.testing.assert_array_equal(fit_square(wide[:, 10:50], 40), wide[:, 10:50])  # already that size
    assert fit_square(wide, 80).shape == (80, 80, 3)  # enlarging works too


def test_load_batch_never_raises_and_reports_each_bad_item(tmp_path):
    expected = write_bad_inputs(tmp_path)
    names = sorted(expected)
    paths = [tmp_path / n for n in names] + [tmp_path / "missing.jpg", JPEG]
    images, errors = load_batch(paths, 32)
    assert images.shape == (len(paths), 32, 32, 3) and images.dtype == np.uint8
    failed = {i: e.reason for i, e in errors}
    for i, name in enumerate(names):
        assert failed.get(i, "ok") == expected[name], name
    assert failed[len(names)] == "missing" and len(names) + 1 not in failed
    for i in failed:
        assert not images[i].any()
    good = [i for i in range(len(paths)) if i not in failed]
    assert all(images[i].any() for i in good)
    threaded, threaded_errors = load_batch(paths, 32, num_threads=2)
    np.testing.assert_array_equal(threaded, images)
    assert [(i, e.reason) for i, e in threaded_errors] == [(i, e.reason) for i, e in errors]


def test_load_batch_decodes_in_place_when_the_scale_fits_and_reuses_out():
    out = np.full((2, 48, 48, 3), 255, np.uint8)
    images, errors = load_batch([JPEG, b"not an image"], 48, out=out)
    assert images is out and [e.reason for _, e in errors] == ["not_an_image"]
    # 96×128 at 1/2 is 48×64, centre-cropped to 48×48.
    np.testing.assert_array_equal(out[0], decode_image(JPEG, min_size=48)[:, 8:56])
    assert not out[1].any()
    with pytest.raises(ValueError):
        load_batch([JPEG], 48, out=np.empty((1, 32, 32, 3), np.uint8))


@settings(max_examples=150, deadline=None)
@given(
    cut=st.integers(min_value=0, max_value=len(JPEG)),
    flips=st.lists(st.tuples(st.integers(0, len(JPEG) - 1), st.integers(0, 255)), max_size=4),
)
def test_mangled_jpegs_decode_or_raise_decode_error_only(cut, flips):
    data = bytearray(JPEG[:cut])
    for at, value in flips:
        if at < len(data):
            data[at] = value
    try:
        out = decode_image(bytes(data))
    except DecodeError as err:
        assert err.reason in DECODE_REASONS
    else:
        assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3


def test_read_header_and_verify_images_agree_with_full_decoding(tmp_path):
    (tmp_path / "a.jpg").write_bytes(JPEG)
    (tmp_path / "b.png").write_bytes(encode(RGB[:50], "PNG"))
    assert read_header(tmp_path / "a.jpg") == (96, 128) and read_header(tmp_path / "b.png") == (50, 128)
    expected = write_bad_inputs(tmp_path / "bad")
    names = sorted(expected)
    failed = {names[i]: e.reason for i, e in verify_images([tmp_path / "bad" / n for n in names], num_threads=2)}
    assert failed == {n: r for n, r in expected.items() if r != "ok"}
    with pytest.raises(DecodeError) as info:
        read_header(tmp_path / "bad" / "text_named.jpg")
    assert info.value.reason == "not_an_image" and "text_named.jpg" in str(info.value)


def test_no_source_file_enables_pillow_truncated_loading():
    # Pillow would then fill the missing part of a truncated file with grey, silently.
    root = Path(__file__).resolve().parents[1]
    offenders = [
        str(p.relative_to(root))
        for folder in ("galaxyzoo", "plugins")
        for p in (root / folder).rglob("*.py")
        if re.search(r"LOAD_TRUNCATED_IMAGES\s*=(?!=)", p.read_text())
    ]
    assert offenders == []


def test_unbuffered_read_gets_a_file_that_grew_and_stops_at_the_limit(tmp_path):
    from galaxyzoo.data.decode import _read_fd, read_bytes

    path = tmp_path / "grown.jpg"
    path.write_bytes(bytes(range(256)) * 400)  # 102,400 bytes; fstat said 10 before it grew
    for size, limit, want in [(10, 1 << 20, 102_400), (102_400, 1 << 20, 102_400), (10, 5000, 5000), (0, 1, 1)]:
        fd = os.open(path, os.O_RDONLY)
        try:
            assert _read_fd(fd, size, limit) == path.read_bytes()[:want]
        finally:
            os.close(fd)
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    assert read_bytes(empty, 100) == b""
