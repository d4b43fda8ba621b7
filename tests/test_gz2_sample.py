"""The real GZ2 sample (../shared/data/gz2_sample) through the ``catalog`` reader."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from galaxyzoo.data.decode import decode_image, verify_images
from galaxyzoo.specs import resolve_builder
from galaxyzoo_builtin.datasets import REAL_DATASETS
from galaxyzoo_builtin.datasets.catalog import open_catalog

SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "gz2_sample"

pytestmark = [
    pytest.mark.sample,
    pytest.mark.skipif(not (SAMPLE / "labels.csv").exists(), reason=f"real sample not found at {SAMPLE}"),
]

# From the sample's README: (spiral, non_spiral) per labelled split, and the unlabelled count.
README_COUNTS = {"train": (805, 3191), "val": (172, 684), "test": (172, 683)}
README_UNLABELED = 1197


def test_split_counts_match_the_readme_and_no_row_is_a_problem():
    spec = next(s for s in REAL_DATASETS if s.name == "gz2_sample")
    build = resolve_builder(spec.builder)
    for split, (spiral, non_spiral) in README_COUNTS.items():
        ds = build(split=split, root=SAMPLE, **spec.defaults)
        assert ds.task == spec.task and ds.image_size == 424
        assert ds.problems == []
        counts = np.bincount(ds.targets, minlength=2)
        assert (counts[spec.task.outputs.index("spiral")], counts[spec.task.outputs.index("non_spiral")]) == (spiral, non_spiral)
    unlabeled = build(split="unlabeled", root=SAMPLE, **spec.defaults)
    assert len(unlabeled) == README_UNLABELED and (unlabeled.targets == -1).all()
    # The plain catalog reader agrees (classes then default to the sorted labels: the same order).
    assert len(open_catalog("val", SAMPLE)) == sum(README_COUNTS["val"])


def test_every_sample_image_decodes_strictly():
    paths = sorted((SAMPLE / "images").glob("*.jpg"))
    assert len(paths) == sum(map(sum, README_COUNTS.values())) + README_UNLABELED
    assert verify_images(paths, num_threads=2) == []


def test_half_scale_reads_match_a_full_decode_downscaled():
    full = open_catalog("test", SAMPLE)
    half = open_catalog("test", SAMPLE, image_size=212)
    picks = [0, 17, 400, len(full) - 1]
    big, small = full.read_images(picks), half.read_images(picks)
    assert big.shape == (4, 424, 424, 3) and small.shape == (4, 212, 212, 3)
    for b, s, i in zip(big, small, picks):
        np.testing.assert_array_equal(s, decode_image(Path(full.paths[i]).read_bytes(), min_size=212))
        area = np.asarray(Image.fromarray(b).resize((212, 212), Image.Resampling.BOX))
        assert np.abs(area.astype(int) - s).mean() < 1.0
