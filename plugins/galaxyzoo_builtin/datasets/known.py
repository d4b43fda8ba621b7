"""Facts about each data set that its spec needs without importing reader code: class names in
their published order, file names, and the layout told to a user whose files are missing."""
from __future__ import annotations

# ---- catalog: any folder of images plus a CSV
CATALOG_LAYOUT = """\
  <root>/labels.csv         one row per galaxy: an id column (default: the first), a label column
                            (default 'label') or vote-fraction columns (target_columns=...), and
                            optionally a split column (default 'split': train/val/test/unlabeled)
  <root>/images/<id>.jpg    one image per row (.jpg, .jpeg or .png), named by its id
                            (or give path_column=... with paths relative to <root>)"""

# ---- gz2_sample (../shared/data/gz2_sample): a catalog defining a binary spiral task
GZ2_SAMPLE_CLASSES: tuple[str, ...] = ("non_spiral", "spiral")
GZ2_SAMPLE_LAYOUT = """\
  <root>/labels.csv           GalaxyID,label,split (label spiral/non_spiral, empty when unlabeled;
                              split train/val/test/unlabeled)
  <root>/images/<GalaxyID>.jpg   424x424 JPEGs from the Kaggle Galaxy Challenge"""

# ---- gz2_kaggle: "Galaxy Zoo - The Galaxy Challenge" as unpacked from Kaggle
GZ2_SOLUTIONS = "training_solutions_rev1.csv"
GZ2_TRAIN_DIR = "images_training_rev1"
GZ2_TEST_DIR = "images_test_rev1"
GZ2_KAGGLE_LAYOUT = f"""\
  <root>/{GZ2_SOLUTIONS}              GalaxyID + 37 columns Class1.1 ... Class11.6
  <root>/{GZ2_TRAIN_DIR}/<GalaxyID>.jpg   the 61,578 labelled 424x424 JPEGs
  <root>/{GZ2_TEST_DIR}/<GalaxyID>.jpg       the 79,975 unlabelled JPEGs (split 'unlabeled')
  (unzip the Kaggle competition files into <root>; only what a split needs must exist)"""

# ---- galaxy_mnist: GalaxyMNIST (Walmsley et al. 2022)
GALAXY_MNIST_CLASSES: tuple[str, ...] = ("smooth_round", "smooth_cigar", "edge_on_disk", "unbarred_spiral")
GALAXY_MNIST_FILES = {"train": "train_dataset.hdf5", "test": "test_dataset.hdf5"}
GALAXY_MNIST_LAYOUT = """\
  <root>/train_dataset.hdf5   keys 'images' (uint8 Nx64x64x3, or Nx224x224x3 highrez) and 'labels' (0-3)
  <root>/test_dataset.hdf5    the same, for the canonical test split
  (or the galaxy_mnist package's own <root>/GalaxyMNIST/raw/ or <root>/GalaxyMNISTHighrez/raw/;
  gunzip the downloaded .hdf5.gz files)"""

# ---- galaxy10 (DECaLS) and galaxy10_sdss: Galaxy10 (Leung & Bovy); the two number their
# classes differently.
GALAXY10_DECALS_CLASSES: tuple[str, ...] = (
    "Disturbed", "Merging", "Round Smooth", "In-between Round Smooth", "Cigar Shaped Smooth",
    "Barred Spiral", "Unbarred Tight Spiral", "Unbarred Loose Spiral", "Edge-on without Bulge",
    "Edge-on with Bulge",
)
GALAXY10_SDSS_CLASSES: tuple[str, ...] = (
    "Disk, Face-on, No Spiral", "Smooth, Completely round", "Smooth, in-between round",
    "Smooth, Cigar shaped", "Disk, Edge-on, Rounded Bulge", "Disk, Edge-on, Boxy Bulge",
    "Disk, Edge-on, No Bulge", "Disk, Face-on, Tight Spiral", "Disk, Face-on, Medium Spiral",
    "Disk, Face-on, Loose Spiral",
)
GALAXY10_FILES = {"decals": "Galaxy10_DECals.h5", "sdss": "Galaxy10.h5"}


def galaxy10_layout(variant: str) -> str:
    size = {"decals": 256, "sdss": 69}[variant]
    return (f"  <root>/{GALAXY10_FILES[variant]}   keys 'images' (uint8 Nx{size}x{size}x3) and 'ans' (class 0-9)\n"
            "  (the file as published by the Galaxy10 authors, e.g. through astroNN)")
