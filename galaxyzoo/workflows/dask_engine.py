"""``ingest`` and ``predict`` on a Dask cluster: the same per-chunk work, on many processes or machines.

This process (the client) cuts the inputs into the same chunks as a local run and sends each
chunk's description (file paths, or a range of an ingest's manifest rows) to the workers, a few
chunks per worker thread at a time. Workers read the files themselves, so they must see the same
paths (one machine, or a shared filesystem), and send back crops (ingest) or catalog rows
(predict). The client writes the shards, manifest and catalog in input order, atomically, with
the local code, so the outputs are byte-identical to a local run and an ingest resumes the same
way. Bad inputs are rows with their reason, as locally; a worker that dies has its chunks rerun
elsewhere by Dask.

Why Dask rather than Ray: the work is already independent chunks, which are Dask futures as
they are; ``dask[distributed]`` is a few MB of pure Python beside torch (Ray is a ~80 MB wheel
with its own object store and daemons); and the same client code runs on a laptop's
``LocalCluster`` or on an HPC batch system (dask-jobqueue for SLURM/PBS, dask-mpi, Kubernetes),
where survey data usually lives.
"""
from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections import Counter, deque
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from tqdm.auto import tqdm

from ..errors import UserError
from .checkpoint import MODEL_FILE, resolve
from .inference import Checkpoints, checkpoint_list
from .ingest import IngestOptions, IngestSummary, ingest
from .predict import Catalog, Chunk, Predictor, check_inputs, claim_output, plan_chunks, write_catalog

MISSING = '--engine dask needs Dask: pip install "galaxyzoo[dask]"'
# Dask starts workers with MALLOC_TRIM_THRESHOLD_=65536, which turns off glibc's adaptive mmap
# threshold: every large image or activation buffer is then a fresh mmap, page faults and all.
# Measured here: a worker predicted 1.7-2.6x slower than a plain one-thread process with it,
# at the same speed without it.
TRIM = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"
IN_FLIGHT_PER_THREAD = 4  # chunks queued per worker thread: enough to hide latency, bounded memory


def _distributed():
    try:
        import distributed
    except ImportError:
        raise UserError(MISSING) from None
    return distributed


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None) -> Iterator:
    """A client of the Dask scheduler at ``scheduler`` (``tcp://host:8786`` or a scheduler
    file's path), or of a new local cluster of ``workers`` processes (default: every core)
    with one thread each; the local cluster is shut down on exit."""
    distributed = _distributed()
    import dask
    if scheduler and workers is not None:
        raise UserError("--scheduler and --workers: pick one (a running cluster has its own workers)")
    if workers is not None and workers < 1:
        raise UserError(f"--workers must be >= 1 with --engine dask, got {workers}")
    if scheduler:
        connect = {"scheduler_file": scheduler} if Path(scheduler).is_file() else {"address": scheduler}
        with distributed.Client(**connect) as client:
            yield client
        return
    n = workers or len(os.sched_getaffinity(0))
    # Processes, as in the local engine: the Python parts of each chunk hold the GIL.
    with dask.config.set({TRIM: None}), \
            distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                     dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
            distributed.Client(cluster) as client:
        yield client


def _slots(client) -> int:
    """Tasks the cluster runs at once (its worker threads, counted when a run starts: start
    the workers first); at least one, so work is queued for a cluster still starting."""
    return max(1, sum(client.nthreads().values()))


def dask_ingest(inputs: Iterable[tuple[str, str]], out: str | os.PathLike, client,
                opts: IngestOptions = IngestOptions(), *, chunk_size: int = 256,
                progress: bool = True) -> IngestSummary:
    """:func:`galaxyzoo.ingest.ingest` with its chunks run on ``client``'s workers."""
    executor = client.get_executor(pure=False)
    try:
        return ingest(inputs, out, opts, workers=_slots(client), chunk_size=chunk_size,
                      progress=progress, executor=executor)
    finally:
        executor.shutdown(wait=False)  # cancels what an error left in flight


def dask_predict(checkpoint: Checkpoints, inputs: Sequence[str | os.PathLike], out: Path | str, client, *,
                 batch_size: int = 64, chunk_batches: int = 8, device: str = "auto",
                 threads: int | None = None, progress: bool = True, id_column: str = "GalaxyID",
                 image_dir: str | os.PathLike | None = None, tta: int = 1, decode: str = "auto") -> Catalog:
    """:func:`galaxyzoo.predict.predict_files` with chunks of ``chunk_batches`` batches run on
    ``client``'s workers; each worker loads the checkpoint, or the ensemble's checkpoints, once
    (on ``device``: ``cuda`` gives each worker its visible GPU). ``threads``: decoding threads
    per task (default: the cores of the worker's machine shared among its worker threads, at
    most 8). ``decode``: where workers decode files (:func:`~galaxyzoo.workflows.predict.choose_loader`,
    on their own device)."""
    with claim_output(out, inputs, batch_size) as out:  # checked and locked before any work
        return _dask_predict(checkpoint, inputs, out, client, batch_size, chunk_batches, device, threads,
                             progress, id_column, image_dir, tta, decode)


def _dask_predict(checkpoint, inputs, out, client, batch_size, chunk_batches, device, threads, progress,
                  id_column, image_dir, tta, decode) -> Catalog:
    # Read here on the CPU only to check the checkpoints and learn their task and ROI mode.
    local = Predictor(checkpoint, "cpu", tta)
    task, mode = local.task, local.mode
    del local  # the workers hold the models
    checkpoints = tuple(str(Path(c).resolve()) for c in checkpoint_list(checkpoint))
    total, chunks = plan_chunks(inputs, chunk_size=chunk_batches * batch_size, mode=mode,
                                id_column=id_column, image_dir=image_dir)
    check_inputs(total)
    per_host: Counter = Counter()  # worker threads per machine, to share its cores for decoding
    for address, n in client.nthreads().items():
        per_host[_host(address)] += n
    rows: list[list] = []
    bar = tqdm(total=total, desc="predict", unit="img", disable=not progress)
    pending: deque = deque()
    in_flight = IN_FLIGHT_PER_THREAD * _slots(client)

    def collect():
        chunk_rows = pending.popleft().result()
        rows.extend(chunk_rows)
        bar.update(len(chunk_rows))

    try:
        for chunk in chunks:
            pending.append(client.submit(_predict_chunk, checkpoints, device, tta, decode, chunk, batch_size,
                                         threads, dict(per_host), pure=False))
            if len(pending) >= in_flight:
                collect()
        while pending:
            collect()
    finally:
        for future in pending:
            future.cancel()
        bar.close()
    return write_catalog(out, task, rows)


def _host(address: str) -> str:
    return address.split("://")[-1].rsplit(":", 1)[0]


# --- on the workers ---------------------------------------------------------------------------

_loaded: dict[tuple, Predictor] = {}  # this worker's model(s): loaded by its first chunk
_loading = threading.Lock()


def _predictor(checkpoints: tuple[str, ...], device: str, tta: int, decode: str) -> Predictor:
    """The worker's Predictor for these checkpoints (one, or an ensemble's), loaded once;
    reloaded when the member list or any weights file changes (a long-lived cluster, a
    retrained run), and only the latest one is kept."""
    weights = [resolve(c) / MODEL_FILE for c in checkpoints]
    key = (tuple((str(w), w.stat().st_mtime_ns) for w in weights), device, tta, decode)
    with _loading:
        if key not in _loaded:
            _loaded.clear()
            _loaded[key] = Predictor(checkpoints, device, tta, decode)
        return _loaded[key]


def _predict_chunk(checkpoints: tuple[str, ...], device: str, tta: int, decode: str, chunk: Chunk, batch_size: int,
                   threads: int | None, per_host: dict[str, int]) -> list[list]:
    from distributed import get_worker

    if not threads:
        sharing = per_host.get(_host(get_worker().address), 1)
        threads = max(1, min(len(os.sched_getaffinity(0)) // sharing, 8))
    return _predictor(checkpoints, device, tta, decode).predict_chunk(chunk, batch_size=batch_size, threads=threads)
