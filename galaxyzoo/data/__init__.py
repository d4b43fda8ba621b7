"""Data: dataset contract, synthetic galaxies, decoding and the batch pipeline."""
