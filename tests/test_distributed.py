"""`galaxyzoo train` under torchrun: 2 DDP processes (gloo, CPU) match one process."""
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


def run(args, cwd: Path, nproc: int = 1) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GALAXYZOO_", "WORLD_SIZE", "RANK",
                                                                    "LOCAL_RANK", "MASTER_"))}
    env["OMP_NUM_THREADS"] = "1"
    launch = ([sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"]
              if nproc > 1 else [sys.executable])
    done = subprocess.run([*launch, "-m", "galaxyzoo.cli", "train", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


def losses(run_dir: Path) -> list[float]:
    return [r["train_loss"] for r in json.loads((run_dir / "metrics.json").read_text())["epochs"]]


def test_two_ranks_match_one_process_and_resume_on_one(tmp_path):
    run([*TINY, "--out", "single"], tmp_path)
    run([*TINY, "--out", "ddp"], tmp_path, nproc=2)
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

    # The 2-rank run resumes in one process for a third epoch.
    config = json.loads((tmp_path / "ddp" / "config.json").read_text())
    config["epochs"] = 3
    (tmp_path / "ddp" / "config.json").write_text(json.dumps(config))
    run(["--resume", tmp_path / "ddp"], tmp_path)
    assert len(losses(tmp_path / "ddp")) == 3
    assert (tmp_path / "ddp" / "last").resolve().name == "epoch-0003"
    assert safetensors.torch.load_file(tmp_path / "ddp" / "last" / "model.safetensors").keys() == weights.keys()


def test_batch_size_must_divide_by_world_size():
    from galaxyzoo.data.pipeline import EpochBatches

    with pytest.raises(ValueError, match="divisible"):
        EpochBatches(10, 5, shuffle=False, rank=0, world_size=2)
    shares = [list(EpochBatches(10, 4, shuffle=True, seed=3, rank=r, world_size=2)) for r in (0, 1)]
    whole = list(EpochBatches(10, 4, shuffle=True, seed=3))
    for b, plan in enumerate(whole):
        assert list(plan.indices) == [*shares[0][b].indices, *shares[1][b].indices]
