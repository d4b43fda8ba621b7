"""`galaxyzoo train` under torchrun: 2 DDP processes (gloo, CPU) match one process, and every
process ends cleanly."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import safetensors.torch

# dense_mlp without dropout has no batch norm and no randomness inside the model, so the
# per-rank half batches give exactly the gradient of the whole batch (up to float rounding).
TINY = ["--model", "dense_mlp", "--model-opt", "hidden=32", "--model-opt", "dropout=0",
        "--dataset", "synthetic", "--dataset-opt", "num_samples=32", "--dataset-opt", "image_size=32",
        "--size", "16", "--batch-size", "8", "--epochs", "2", "--workers", "0", "--quiet"]
# What a process that dies in C++ (std::terminate, abort) or in the interpreter leaves on stderr.
ABORT_SIGNS = ("terminate called", "Aborted", "core dumped", "Fatal Python error", "Segmentation fault")
# Names of the C++ threads of a gloo process group (see galaxyzoo.runtime).
GLOO_THREADS = ("gloo", "pt_gloo")

# Runs the CLI's main as `python -m galaxyzoo.cli` would, then lists the threads and child
# processes still alive.
CLI_THEN_THREADS = """\
import multiprocessing, os, sys
from galaxyzoo.cli import main
code = main(sys.argv[1:])
names = [open(f"/proc/self/task/{t}/comm").read().strip() for t in os.listdir("/proc/self/task")]
print("threads left:", ",".join(names), file=sys.stderr)
print("children left:", len(multiprocessing.active_children()), file=sys.stderr)
sys.exit(code)
"""


def run(args, cwd: Path, nproc: int = 1, script: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GALAXYZOO_", "WORLD_SIZE", "RANK",
                                                                    "LOCAL_RANK", "MASTER_"))}
    env["OMP_NUM_THREADS"] = "1"
    launch = ([sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"]
              if nproc > 1 else [sys.executable])
    target = [str(script)] if script else ["-m", "galaxyzoo.cli"]
    done = subprocess.run([*launch, *target, "train", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=240)
    # Every rank exits 0 (torchrun fails otherwise) and none aborted on the way out.
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    for sign in ABORT_SIGNS:
        assert sign not in done.stderr, f"{sign!r} on stderr:\n{done.stderr}"
    return done


def losses(run_dir: Path) -> list[float]:
    return [r["train_loss"] for r in json.loads((run_dir / "metrics.json").read_text())["epochs"]]


def test_two_ranks_match_one_process_and_resume_on_one(tmp_path):
    # Three-epoch runs stopped after two (the same schedule in both), so the 2-rank run can be
    # resumed without changing its settings (resume refuses changed settings).
    first_two = [*TINY[:-4], "3", "--stop-after-epoch", "2", *TINY[-3:]]
    assert TINY[-5:-3] == ["--epochs", "2"]
    run([*first_two, "--out", "single"], tmp_path)
    run([*first_two, "--out", "ddp"], tmp_path, nproc=2)
    single, ddp = losses(tmp_path / "single"), losses(tmp_path / "ddp")
    assert len(ddp) == 2 and ddp == pytest.approx(single, rel=1e-4)
    images = [[r["train_images"] for r in json.loads((tmp_path / d / "metrics.json").read_text())["epochs"]]
              for d in ("single", "ddp")]
    assert images[0] == images[1] == [32, 32]  # counted over both ranks
    # Rank 0 saved the unwrapped model: same keys as a single-process checkpoint.
    weights = safetensors.torch.load_file(tmp_path / "ddp" / "last" / "model.safetensors")
    reference = safetensors.torch.load_file(tmp_path / "single" / "last" / "model.safetensors")
    assert weights.keys() == reference.keys()
    for name in weights:
        assert (weights[name] - reference[name]).abs().max() < 1e-4

    # The 2-rank run resumes in one process for its third epoch.
    run(["--resume", tmp_path / "ddp"], tmp_path)
    assert len(losses(tmp_path / "ddp")) == 3
    assert (tmp_path / "ddp" / "last").resolve().name == "epoch-0003"
    assert safetensors.torch.load_file(tmp_path / "ddp" / "last" / "model.safetensors").keys() == weights.keys()


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="lists threads through Linux /proc")
def test_training_frees_the_process_group_and_loader_workers(tmp_path):
    # The process group's C++ threads must be gone when train() returns: left running into
    # interpreter shutdown, they can abort the process (once in 4 CI runs before the fix).
    # A loader worker process per rank exercises the loaders' shutdown too.
    script = tmp_path / "cli_then_threads.py"
    script.write_text(CLI_THEN_THREADS)
    args = [*TINY[:TINY.index("--epochs")], "--epochs", "1", "--workers", "1", "--quiet", "--out", "w1"]
    done = run(args, tmp_path, nproc=2, script=script)
    left = [line for line in done.stderr.splitlines() if line.startswith("threads left:")]
    assert len(left) == 2, done.stderr  # one line per rank
    for line in left:
        assert not any(name.startswith(GLOO_THREADS) for name in line.split(":", 1)[1].split(",")), line
    assert done.stderr.count("children left: 0") == 2, done.stderr
    assert len(losses(tmp_path / "w1")) == 1


def test_batch_size_must_divide_by_world_size():
    from galaxyzoo.data.pipeline import EpochBatches

    with pytest.raises(ValueError, match="divisible"):
        EpochBatches(10, 5, shuffle=False, rank=0, world_size=2)
    shares = [list(EpochBatches(10, 4, shuffle=True, seed=3, rank=r, world_size=2)) for r in (0, 1)]
    whole = list(EpochBatches(10, 4, shuffle=True, seed=3))
    for b, plan in enumerate(whole):
        assert list(plan.indices) == [*shares[0][b].indices, *shares[1][b].indices]
