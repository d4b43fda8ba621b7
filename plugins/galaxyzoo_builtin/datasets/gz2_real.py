"""``gz2_votes`` and ``gz2_zhu5``: the real GZ2 label files in ``../shared/data``, as datasets that
need no options.

* ``gz2_votes``: the ``gz2_sample`` JPEGs with the 37 Kaggle vote fractions of ``votes.csv``
  (3,716 images; train 2,584 / val 573 / test 559, the split of ``labels.csv``).
* ``gz2_zhu5``: 7,000 GZ2 JPEGs in the five classes of Zhu et al. (2019), ``labels.csv`` with
  its own split (train 4,903 / val 1,049 / test 1,048).

Both are catalogs read by :func:`galaxyzoo_builtin.datasets.catalog.open_catalog` with the
options fixed here; a missing file raises one error naming the layout below. This module
imports no reader code until a dataset is opened, so the specs can use its constants.
"""
from __future__ import annotations

from pathlib import Path

from galaxyzoo.gz2.tree import COLUMNS

VOTES_NAME = "gz2_votes"
ZHU5_NAME = "gz2_zhu5"
# Zhu et al. (2019), Table 1's order.
ZHU5_CLASSES: tuple[str, ...] = ("round", "in_between", "cigar", "edge_on", "spiral")
# Split sizes from the data READMEs (checked by tests/test_gz2_real_benchmarks.py).
VOTES_COUNTS = {"train": 2584, "val": 573, "test": 559}
ZHU5_COUNTS = {"train": 4903, "val": 1049, "test": 1048}

GZ2_VOTES_LAYOUT = """\
  <root>/votes.csv                GalaxyID,split,Class1.1 ... Class11.6 (the 37 Kaggle vote fractions;
                                  split train/val/test)
  <root>/images/<GalaxyID>.jpg    424x424 GZ2 JPEGs (the gz2_sample folder: ../shared/data/gz2_sample)"""
GZ2_ZHU5_LAYOUT = """\
  <root>/labels.csv               GalaxyID,label,split (label round/in_between/cigar/edge_on/spiral;
                                  split train/val/test)
  <root>/images/<GalaxyID>.jpg    424x424 GZ2 JPEGs (../shared/data/gz2_zhu5)"""


def _votes_root(root: str | Path | None) -> str | Path | None:
    """Without a root: $GALAXYZOO_DATA/gz2_votes (or ./data/gz2_votes) when it exists, else the
    gz2_sample folder beside it, where votes.csv is delivered."""
    if root is not None:
        return root
    from .base import resolve_root

    own = resolve_root(None, VOTES_NAME)
    sample = resolve_root(None, "gz2_sample")
    return own if own.exists() or not sample.exists() else sample


def open_gz2_votes(split: str = "train", root: str | Path | None = None, *, image_size: int = 424,
                   verify: bool = False, num_threads: int = 1):
    """One split of gz2_sample's images with the 37 vote fractions of ``votes.csv``."""
    from .catalog import open_catalog

    root = _votes_root(root)
    return open_catalog(split, root, catalog="votes.csv", id_column="GalaxyID", target_columns=list(COLUMNS),
                        image_size=image_size, verify=verify, num_threads=num_threads,
                        name=VOTES_NAME, layout=GZ2_VOTES_LAYOUT)


def open_gz2_zhu5(split: str = "train", root: str | Path | None = None, *, image_size: int = 424,
                  verify: bool = False, num_threads: int = 1):
    """One split of the five-class Zhu et al. sample (classes in :data:`ZHU5_CLASSES` order)."""
    from .catalog import open_catalog

    return open_catalog(split, root, catalog="labels.csv", id_column="GalaxyID", classes=ZHU5_CLASSES,
                        image_size=image_size, verify=verify, num_threads=num_threads,
                        name=ZHU5_NAME, layout=GZ2_ZHU5_LAYOUT)
