"""Shared fixtures: a clean plugin registry, throwaway plugin distributions, the CLI in a
subprocess, and the example third-party plugin installed into the environment."""
from __future__ import annotations

import fcntl
import importlib
import importlib.metadata
import importlib.util
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from galaxyzoo import registry

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_PLUGIN_DIR = REPO / "plugins" / "example_thirdparty"
EXAMPLE_DIST = "galaxyzoo-example-plugin"


@pytest.fixture
def clean_registry(monkeypatch):
    """No GALAXYZOO_* switch set, and a registry that reloads plugins before and after."""
    for key in list(os.environ):
        if key.startswith("GALAXYZOO_"):
            monkeypatch.delenv(key)
    registry.reset()
    yield registry
    registry.reset()


class FakeSite:
    """A folder of throwaway plugin distributions: ``NAME-VERSION.dist-info`` with
    ``entry_points.txt`` next to the plugin modules. It is on ``sys.path`` for in-process tests;
    pass ``path`` as PYTHONPATH to a subprocess."""

    def __init__(self, path: Path):
        self.path = path
        self.modules: set[str] = set()

    def add(self, dist: str, modules: dict[str, str], entry_points: dict[str, str] | None = None,
            version: str = "1.0") -> None:
        """``modules``: module name -> source; ``entry_points``: name -> module (default: one
        entry point per module, named after it)."""
        for name, source in modules.items():
            (self.path / f"{name}.py").write_text(textwrap.dedent(source))
            self.modules.add(name)
        info = self.path / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        eps = entry_points if entry_points is not None else {name: name for name in modules}
        lines = "".join(f"{name} = {value}\n" for name, value in eps.items())
        (info / "entry_points.txt").write_text(f"[galaxyzoo]\n{lines}")
        importlib.invalidate_caches()
        registry.reset()


@pytest.fixture
def fake_site(tmp_path, monkeypatch, clean_registry):
    site = FakeSite(tmp_path / "site")
    site.path.mkdir()
    monkeypatch.syspath_prepend(str(site.path))
    yield site
    for name in site.modules:
        sys.modules.pop(name, None)


@pytest.fixture
def run_cli(tmp_path):
    """Run ``python -m galaxyzoo.cli ARGS`` in ``tmp_path`` with no GALAXYZOO_* switch
    inherited; ``env`` adds variables, ``pythonpath`` prepends folders."""

    def run(*args: str, env: dict[str, str] | None = None, pythonpath=(), timeout: float = 120,
            cwd: Path | None = None) -> subprocess.CompletedProcess:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("GALAXYZOO_")}
        environ.update(env or {})
        paths = [str(p) for p in pythonpath] + [p for p in [environ.get("PYTHONPATH")] if p]
        if paths:
            environ["PYTHONPATH"] = os.pathsep.join(paths)
        return subprocess.run(
            [sys.executable, "-m", "galaxyzoo.cli", *args], capture_output=True, text=True,
            env=environ, timeout=timeout, cwd=cwd or tmp_path,
        )

    return run


@pytest.fixture(scope="session")
def example_plugin(tmp_path_factory) -> str:
    """pip-install the example third-party distribution (editable, once per test session, under
    a lock shared by xdist workers) and make it importable here too. Returns its name."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):  # workers' temp dirs share this session's parent
        shared = shared.parent
    with open(shared / "example-plugin.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        marker = shared / "example-plugin.installed"
        if not marker.exists():
            cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-build-isolation", "--no-deps",
                   "-e", str(EXAMPLE_PLUGIN_DIR)]
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, f"pip install failed:\n{done.stdout}\n{done.stderr}"
            marker.touch()
    # An editable install takes effect through a .pth file at interpreter start; this process
    # started before it, so put the source folder on sys.path the way that file would.
    if importlib.util.find_spec("galaxyzoo_example") is None:
        sys.path.append(str(EXAMPLE_PLUGIN_DIR))
    importlib.invalidate_caches()
    registry.reset()
    return EXAMPLE_DIST


@pytest.fixture
def no_hang():
    """A walk or read that blocks (a FIFO opened for reading) fails the test after 60 s
    instead of hanging the suite; use with ``pytestmark = pytest.mark.usefixtures("no_hang")``."""
    def hung(*_):
        raise TimeoutError("blocked for 60 s: a hang")
    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)
