"""The jobs galaxyzoo runs: train, evaluate, predict, ingest, benchmark, and what they share
(inference, checkpoints, plots, the Dask engine)."""
