"""The wheel holds every package of engine/ (pyproject lists them by hand, and a missing
one only shows up installed: tests/test_installed_wheel.py)."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_every_engine_package_is_in_the_wheel() -> None:
    listed = set(
        tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    on_disk = {
        ".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "engine").rglob("__init__.py")
    }
    assert sorted(on_disk - listed) == []
    assert {"engine.recipes_data", "engine.examples_data"} <= listed
