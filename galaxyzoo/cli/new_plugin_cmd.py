"""``galaxyzoo new-plugin NAME``: write a ready-to-install plugin distribution.

The package has a model, a dataset, a metric and a recipe, registered through the
``galaxyzoo`` entry point, and a test running :mod:`galaxyzoo.testing` over them; it installs
with ``pip install -e NAME`` and trains with ``galaxyzoo train --recipe PKG_default``.
The files come from ``galaxyzoo/templates/plugin/`` (``__PKG__``/``__DIST__`` filled in).
"""
from __future__ import annotations

import argparse
import keyword
import re
from importlib import resources
from pathlib import Path

from .. import __version__
from ..errors import OutputExistsError, UserError

TEMPLATE_SUFFIX = ".tmpl"


def package_name(dist: str) -> str:
    """The import name for a distribution name: ``my-galaxy-plugin`` -> ``my_galaxy_plugin``."""
    pkg = re.sub(r"[^0-9a-zA-Z]+", "_", dist).strip("_").lower()
    if not pkg or pkg[0].isdigit() or keyword.iskeyword(pkg) or pkg == "galaxyzoo":
        raise UserError(f"{dist!r} does not make a Python package name; use letters, digits, '-' or '_', "
                        "starting with a letter")
    return pkg


def template_files() -> dict[str, str]:
    """Relative path (with placeholders) -> template text."""
    root = resources.files("galaxyzoo") / "templates" / "plugin"
    found: dict[str, str] = {}

    def walk(node, prefix: str) -> None:
        for child in node.iterdir():
            if child.is_dir():
                walk(child, f"{prefix}{child.name}/")
            elif child.name.endswith(TEMPLATE_SUFFIX):
                found[prefix + child.name[: -len(TEMPLATE_SUFFIX)]] = child.read_text(encoding="utf-8")

    walk(root, "")
    return found


def write_plugin(dist: str, where: Path, *, force: bool = False) -> list[Path]:
    """Write the skeleton for distribution ``dist`` into ``where``; return the files written."""
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9._-]*", dist):
        raise UserError(f"plugin name {dist!r}: use letters, digits, '.', '-' or '_', starting with a letter")
    pkg = package_name(dist)
    if where.exists() and any(where.iterdir()) and not force:
        raise OutputExistsError(f"{where} exists and is not empty (pass --force to write into it)")
    values = {"__PKG__": pkg, "__DIST__": dist, "__GZ_VERSION__": __version__}
    written = []
    for rel, text in sorted(template_files().items()):
        for key, value in values.items():
            rel, text = rel.replace(key, value), text.replace(key, value)
        path = where / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "new-plugin",
        help="write a ready-to-install plugin package (model, dataset, metric, recipe, tests)",
        description="Write a plugin distribution NAME: pyproject.toml with the galaxyzoo entry point, "
        "a model, a dataset, a metric, a recipe and a test using galaxyzoo.testing. "
        "See docs/plugins.md for the contracts.",
    )
    parser.add_argument("name", help="distribution name, e.g. my-galaxy-plugin (package: my_galaxy_plugin)")
    parser.add_argument("--dir", type=Path, default=None, help="where to write it (default: ./NAME)")
    parser.add_argument("--force", action="store_true", help="write into a non-empty folder")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    where = args.dir if args.dir is not None else Path(args.name)
    files = write_plugin(args.name, where, force=args.force)
    pkg = package_name(args.name)
    print(f"wrote {len(files)} files to {where}/")
    for path in files:
        print(f"  {path.relative_to(where)}")
    print("next:")
    print(f"  pip install -e {where}          # into galaxyzoo's environment")
    print(f"  galaxyzoo train --recipe {pkg}_default --out runs/{pkg}")
    print(f"  python -m pytest {where}/tests")
    return 0
