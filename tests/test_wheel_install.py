"""A wheel built from this tree, out of the source tree's build/, installs into a fresh venv
and runs: `galaxyzoo list`, `plugins`, `new-plugin` (its templates ship in the wheel) and the
native extension. Slow: building the wheel compiles the C++ extension (~1-2 min).

Offline and without pulling torch: pip installs the wheel with --no-deps, and the venv sees
the development environment's third-party packages (torch, numpy, pluggy, ...) through a
folder of links to them that leaves out every galaxyzoo distribution and .pth file, so the
only galaxyzoo it can import is the wheel's."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def run(*cmd, **kw) -> subprocess.CompletedProcess:
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=900, **kw)
    assert done.returncode == 0, f"{cmd}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def borrowed_site(target: Path) -> Path:
    """Links to this environment's site-packages entries, minus galaxyzoo's own and .pth files."""
    target.mkdir()
    site = Path(sysconfig.get_paths()["purelib"])
    for entry in site.iterdir():
        low = entry.name.lower()
        if "galaxyzoo" in low or low.endswith(".pth") or low.startswith(("__editable__", "_galaxyzoo")):
            continue
        (target / entry.name).symlink_to(entry)
    return target


@pytest.mark.slow
def test_wheel_installs_into_a_fresh_venv_and_runs(tmp_path):
    dist, build = tmp_path / "dist", tmp_path / "build"
    before = set((REPO / "build").iterdir()) if (REPO / "build").exists() else set()
    run(sys.executable, "-m", "pip", "wheel", REPO, "--no-deps", "--no-build-isolation", "-w", dist,
        f"--config-settings=build-dir={build}",
        # The CUDA module compiles in the editable build already; here it would only add minutes.
        "--config-settings=cmake.define.GALAXYZOO_NO_CUDA=ON")
    after = set((REPO / "build").iterdir()) if (REPO / "build").exists() else set()
    assert after == before, "the wheel build wrote into the source tree's build/"
    (wheel,) = dist.glob("galaxyzoo-*.whl")

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    py = env_dir / "bin" / "python"
    site = Path(run(py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    (site / "borrowed.pth").write_text(str(borrowed_site(tmp_path / "borrowed")) + "\n")
    run(sys.executable, "-m", "pip", "--python", py, "install", "--no-deps", "--no-index", wheel)

    env = {k: v for k, v in os.environ.items() if not k.startswith(("GALAXYZOO_", "PYTHONPATH", "VIRTUAL_ENV"))}
    where = run(py, "-c", "import galaxyzoo, galaxyzoo_builtin, galaxyzoo._native as n; "
                "print(galaxyzoo.__file__); print(galaxyzoo_builtin.__file__); print(n.__file__)",
                env=env, cwd=tmp_path).stdout.split()
    assert all(p.startswith(str(env_dir)) for p in where), where

    cli = env_dir / "bin" / "galaxyzoo"
    listing = run(cli, "list", env=env, cwd=tmp_path).stdout
    assert "models" in listing and "resnet_small" in listing and "default" in listing
    records = json.loads(run(cli, "plugins", "--json", env=env, cwd=tmp_path).stdout)
    assert {r["dist"] for r in records} == {"galaxyzoo"} and {r["status"] for r in records} == {"ok"}
    run(cli, "new-plugin", "wheel-check", env=env, cwd=tmp_path)
    assert (tmp_path / "wheel-check" / "wheel_check" / "plugin.py").exists()
