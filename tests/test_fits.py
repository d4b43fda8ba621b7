"""FITS cutouts: real files written with astropy (single band, extensions, cube, gzip,
tile-compressed), NaN edges, WCS centres, the stretches and every bad-file reason."""
from __future__ import annotations

import gzip
import math

import numpy as np
import pytest

from galaxyzoo.data.fits import (FitsOptions, fits_radec, fits_stem, is_fits, is_fits_name, read_fits,
                                 stretch_rgb)
from galaxyzoo.errors import DecodeError, UserError

fits = pytest.importorskip("astropy.io.fits")
from astropy.wcs import WCS  # noqa: E402


def galaxy(n=48, amp=100.0, seed=0):
    y, x = np.mgrid[:n, :n]
    r2 = (x - (n - 1) / 2) ** 2 + (y - (n - 1) / 2) ** 2
    noise = np.random.default_rng(seed).normal(0, 1, (n, n))
    return (10 + amp * np.exp(-r2 / (2 * (n / 8) ** 2)) + noise).astype(np.float32)


def wcs_header(n=48, ra=150.1, dec=2.2):
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crpix = [(n + 1) / 2, (n + 1) / 2]  # 1-based centre
    w.wcs.crval = [ra, dec]
    w.wcs.cdelt = [-0.396 / 3600, 0.396 / 3600]
    return w.to_header()


def write_bands(path, bands=("g", "r", "i"), n=48, with_wcs=True, nan_edge=False):
    hdus = [fits.PrimaryHDU()]
    for k, name in enumerate(bands):
        data = galaxy(n, amp=50.0 * (k + 1), seed=k)
        if nan_edge:
            data[:, :5] = np.nan
            data[0, :] = np.inf
        header = wcs_header(n) if with_wcs else fits.Header()
        header["FILTER"] = name
        hdus.append(fits.ImageHDU(data, header=header, name=name.upper()))
    fits.HDUList(hdus).writeto(path)
    return path


def test_single_band_primary_is_grey_with_centre_radec(tmp_path):
    path = tmp_path / "one.fits"
    fits.PrimaryHDU(galaxy(), header=wcs_header()).writeto(path)
    img = read_fits(path)
    assert img.rgb.shape == (48, 48, 3) and img.rgb.dtype == np.uint8
    assert (img.rgb[..., 0] == img.rgb[..., 1]).all() and (img.rgb[..., 1] == img.rgb[..., 2]).all()
    assert img.rgb[24, 24, 0] > 200 and img.rgb[2, 2, 0] < 60  # bright core, dark sky
    assert img.ra == pytest.approx(150.1, abs=1e-6) and img.dec == pytest.approx(2.2, abs=1e-6)


def test_multi_extension_bands_by_name_and_index(tmp_path):
    path = write_bands(tmp_path / "gri.fits")
    img = read_fits(path)
    assert img.bands == ["G", "R", "I"]
    same = (400.0, 400.0, 400.0)  # one scale for all: i (brightest here) is red, g blue
    reddish = read_fits(path, scales=same).rgb[24, 24]
    assert reddish[0] > reddish[1] > reddish[2]
    by_name = read_fits(path, bands="i,r,g", scales=same)
    assert by_name.bands == ["I", "R", "G"]
    assert by_name.rgb[24, 24, 2] > by_name.rgb[24, 24, 0]  # order reversed: i now blue
    by_index = read_fits(path, bands=[2, 1, 0], scales=same)
    assert np.array_equal(by_index.rgb, by_name.rgb)
    assert read_fits(path, bands=["r"]).rgb.shape == (48, 48, 3)


def test_cube_gzip_and_tile_compressed(tmp_path):
    cube = np.stack([galaxy(seed=k) for k in range(4)])
    header = wcs_header()
    header.update({"BAND1": "g", "BAND2": "r", "BAND3": "i", "BAND4": "z"})
    fits.PrimaryHDU(cube, header=header).writeto(tmp_path / "cube.fits")
    img = read_fits(tmp_path / "cube.fits")
    assert img.bands == ["g", "r", "i"] and img.rgb.shape == (48, 48, 3)
    assert read_fits(tmp_path / "cube.fits", bands="z,i,r").bands == ["z", "i", "r"]
    assert img.ra == pytest.approx(150.1, abs=1e-6)
    raw = (tmp_path / "cube.fits").read_bytes()
    (tmp_path / "cube.fits.gz").write_bytes(gzip.compress(raw))
    assert np.array_equal(read_fits(tmp_path / "cube.fits.gz").rgb, img.rgb)
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(galaxy(), header=wcs_header())]).writeto(tmp_path / "c.fz")
    fz = read_fits(tmp_path / "c.fz")
    assert fz.rgb.shape == (48, 48, 3) and fz.dec == pytest.approx(2.2, abs=1e-6)
    assert is_fits(raw) and is_fits(gzip.compress(raw)) and not is_fits(b"\xff\xd8\xff")
    assert is_fits_name("a.FITS.gz") and is_fits_name("b.fz") and not is_fits_name("c.gz")
    assert fits_stem("dir/x.fits.gz") == "x" and fits_stem("y.fz") == "y"


def test_nan_and_inf_pixels_become_sky(tmp_path):
    img = read_fits(write_bands(tmp_path / "nan.fits", nan_edge=True))
    assert img.rgb[:, :5].max() < 60 and img.rgb[0].max() < 60  # sky-dark, not white or garbage
    assert img.rgb[24, 24].max() > 200


def test_no_wcs_gives_nan_radec(tmp_path):
    img = read_fits(write_bands(tmp_path / "nowcs.fits", with_wcs=False))
    assert math.isnan(img.ra) and math.isnan(img.dec)
    assert all(math.isnan(v) for v in fits_radec(tmp_path / "nowcs.fits"))
    assert fits_radec(write_bands(tmp_path / "w.fits")) == pytest.approx((150.1, 2.2), abs=1e-6)


def test_linear_and_asinh_stretches_and_scales():
    plane = np.linspace(0, 100, 64 * 64, dtype=np.float32).reshape(64, 64)
    lin = stretch_rgb([plane], "linear")
    asinh = stretch_rgb([plane], "asinh", q=8)
    # asinh lifts the faint half more than linear does
    assert asinh[40, 0, 0] > lin[40, 0, 0] > 0
    assert lin.max() == 255 and asinh.max() == 255
    dim = stretch_rgb([plane], "linear", scales=[1000.0])  # a larger scale: a fainter picture
    assert dim.max() == 13  # (100 - sky 50) / 1000 · 255
    with pytest.raises(DecodeError) as info:
        stretch_rgb([np.full((4, 4), np.nan)])
    assert info.value.reason == "corrupt"
    with pytest.raises(UserError):
        FitsOptions(stretch="log")


def test_options_round_trip_through_the_environment(monkeypatch):
    o = FitsOptions(bands=("g", 2), stretch="linear", q=5.0, scales=(1.5, 2.0))
    for key, value in o.to_env().items():
        monkeypatch.setenv(key, value)
    assert FitsOptions.from_env() == o


@pytest.mark.parametrize("content,reason", [
    (b"", "empty"),
    (b"not a fits file at all", "not_an_image"),
    (b"SIMPLE  =                    T" + b" " * 50 + b"garbage", "truncated"),
    (b"SIMPLE  =" + b"x" * 2871, "corrupt"),
])
def test_bad_files_are_decode_errors_with_reasons(tmp_path, content, reason):
    path = tmp_path / "bad.fits"
    path.write_bytes(content)
    with pytest.raises(DecodeError) as info:
        read_fits(path)
    assert info.value.reason == reason and str(path) in str(info.value)


def test_truncated_table_only_and_missing_band(tmp_path):
    good = write_bands(tmp_path / "g.fits").read_bytes()
    (tmp_path / "cut.fits").write_bytes(good[: len(good) - 1000])
    with pytest.raises(DecodeError) as info:
        read_fits(tmp_path / "cut.fits")
    assert info.value.reason == "truncated"
    (tmp_path / "cut.fits.gz").write_bytes(gzip.compress(good)[:-50])
    with pytest.raises(DecodeError) as info:
        read_fits(tmp_path / "cut.fits.gz")
    assert info.value.reason == "truncated"
    table = fits.BinTableHDU.from_columns([fits.Column(name="a", format="E", array=np.zeros(3))])
    fits.HDUList([fits.PrimaryHDU(), table]).writeto(tmp_path / "table.fits")
    with pytest.raises(DecodeError) as info:
        read_fits(tmp_path / "table.fits")
    assert info.value.reason == "unsupported"
    with pytest.raises(DecodeError) as info:
        read_fits(tmp_path / "g.fits", bands="u")
    assert info.value.reason == "unsupported" and "'u'" in str(info.value)
    with pytest.raises(DecodeError) as info:
        read_fits(tmp_path / "missing.fits")
    assert info.value.reason == "missing"


def test_plain_reader_matches_astropy(tmp_path):
    from galaxyzoo.data.fits_plain import read_plain

    hdu = fits.ImageHDU(galaxy() * 3, name="R")
    hdu.scale("int16", option="minmax")  # BSCALE/BZERO integers, as many archives ship them
    ints = fits.ImageHDU(np.arange(48 * 48, dtype=np.int32).reshape(48, 48), name="Z")
    ints.header["BLANK"] = 7
    fits.HDUList([fits.PrimaryHDU(galaxy(seed=3).astype(np.float64)), hdu, ints]).writeto(tmp_path / "m.fits")
    data = (tmp_path / "m.fits").read_bytes()
    plain = read_plain(data, 1 << 20)
    with fits.open(tmp_path / "m.fits") as hdul:
        expected = [np.asarray(h.data, np.float32) for h in hdul]
    assert [h.get("EXTNAME", "") for h, _ in plain] == ["", "R", "Z"]
    for (_, got), want in zip(plain, expected):
        assert np.allclose(got, want, equal_nan=True, rtol=1e-6)
    assert np.isnan(plain[2][1][0, 7])  # BLANK → NaN
    assert read_plain(data[:-2880], 1 << 20) is None  # cut short: astropy's turn (it names the reason)
