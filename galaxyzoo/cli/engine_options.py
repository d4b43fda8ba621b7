"""``--engine`` / ``--scheduler``: where ``ingest`` and ``predict`` run their chunks."""
from __future__ import annotations

import argparse

from ..errors import UserError


def add_engine_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", choices=("local", "dask"), default="local",
                        help="local: this machine's processes (default); dask: a Dask cluster, a new "
                             "local one (--workers N) or a running one (--scheduler); same output")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="with --engine dask: a running scheduler, tcp://host:8786 or its "
                             "scheduler file (dask-jobqueue, dask-mpi, `dask scheduler`)")


def check_local_engine(args: argparse.Namespace) -> None:
    if args.scheduler:
        raise UserError("--scheduler is for --engine dask")
