"""Gallery PNGs: opened with Pillow, checked for size, the ROI boxes' colour and real content."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from galaxyzoo.data import synthetic
from galaxyzoo.workflows.gallery import grid, mistakes_gallery, prediction_gallery

pd = pytest.importorskip("pandas")


def galaxies(n, size=96):
    return synthetic.images(0, "test", range(n), size=size)


def green_pixels(png) -> int:
    a = np.asarray(Image.open(png).convert("RGB")).astype(int)
    return int(((a[..., 1] > 200) & (a[..., 0] < 120) & (a[..., 2] < 120)).sum())


def test_grid_png_has_the_expected_layout_and_boxes(tmp_path):
    images = galaxies(8)
    path = grid(list(images), [f"g{i}\nspiral 0.9" for i in range(8)], tmp_path / "g.png",
                boxes=[[10, 10, 80, 80]] * 8, columns=4, title="test grid")
    with Image.open(path) as im:
        assert im.format == "PNG"
        w, h = im.size
    assert 500 < w < 1000 and 350 < h < 800 and w > h  # 4 columns × 2 rows
    assert green_pixels(path) > 8 * 100  # eight boxes drawn
    a = np.asarray(Image.open(path).convert("RGB"))
    assert len(np.unique(a.reshape(-1, 3), axis=0)) > 1000  # real pictures, not an empty frame


def test_prediction_gallery_sorts_confident_and_uncertain(tmp_path):
    images = galaxies(12)
    rows = []
    for i, image in enumerate(images):
        p = tmp_path / f"img{i}.png"
        Image.fromarray(image).save(p)
        spiral = (i + 1) / 13
        cls = "spiral" if spiral > 0.5 else "smooth"
        rows.append({"id": f"img{i}", "path": str(p), "status": "ok", "error": "", "predicted": cls,
                     "prob_smooth": 1 - spiral, "prob_spiral": spiral})
    rows.append({"id": "bad", "path": str(tmp_path / "missing.jpg"), "status": "error", "error": "missing",
                 "predicted": "", "prob_smooth": np.nan, "prob_spiral": np.nan})
    catalog = pd.DataFrame(rows)
    path = prediction_gallery(catalog, tmp_path / "gallery.png", size=96, mode="central", per_row=3)
    with Image.open(path) as im:
        w, h = im.size
    assert h > w  # 4 rows (2 classes × confident/uncertain) of 3
    assert green_pixels(path) > 12 * 50


def test_vote_catalog_gallery(tmp_path):
    images = galaxies(4)
    rows = []
    for i, image in enumerate(images):
        p = tmp_path / f"v{i}.png"
        Image.fromarray(image).save(p)
        rows.append({"GalaxyID": str(i), "Class1.1": i / 4, "Class1.2": 1 - i / 4, "Class1.3": 0.0,
                     "path": str(p), "status": "ok", "error": ""})
    path = prediction_gallery(pd.DataFrame(rows), tmp_path / "votes.png", size=96, mode=None, per_row=2)
    assert Image.open(path).size[0] > 200 and green_pixels(path) == 0  # no ROI mode: no boxes


def test_mistakes_gallery(tmp_path):
    images = galaxies(6)
    targets = np.array([0, 1, 0, 1, 0, 1])
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [0.95, 0.05], [0.6, 0.4], [0.4, 0.6]])
    path = mistakes_gallery(images, [f"s{i}" for i in range(6)], targets, probs, ["a", "b"],
                            tmp_path / "mistakes.png", mode="central")
    assert path is not None and Image.open(path).size[0] > 300
    assert green_pixels(path) > 2 * 50  # two mistakes, each boxed
    assert mistakes_gallery(images, list("abcdef"), targets, np.eye(2)[targets], ["a", "b"],
                            tmp_path / "none.png", mode=None) is None
