"""Shared by the tests of commits, waves, descriptions and sync: a fixed git identity and
dates, the toy recipes only (loaded once), and small git readers."""

from __future__ import annotations

import io
import subprocess
from functools import cache
from pathlib import Path

import pytest

from engine.commands import apply as apply_command
from engine.commands import common
from engine.recipe.loading import Library, load_library
from tests.helpers import GIT_ENV, RECIPES, git


@cache
def toy_library() -> Library:
    return load_library([RECIPES], include_bundled=False)


def use_toy_recipes_and_fixed_git(monkeypatch: pytest.MonkeyPatch) -> None:
    """Same author, committer and dates for every commit: same inputs, same shas."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(common, "library", lambda _dirs: toy_library())


def apply(repo: Path, target: str | None = "meshy@stable-2.0", **kwargs: object) -> str:
    out = io.StringIO()
    options: dict[str, object] = {
        "repo": repo,
        "target": target,
        "plan_file": None,
        "recipe_dirs": [],
        "params": {},
        "assume": {},
        "via": [],
        "allow_unsupported": False,
        "allow_dirty": False,
        "commit": True,
        **kwargs,
    }
    apply_command.run(out=out, **options)  # type: ignore[arg-type]
    return out.getvalue()


def subjects(repo: Path, range_: str) -> list[str]:
    return git(repo, "log", "--reverse", "--format=%s", range_).splitlines()


def message(repo: Path, rev: str) -> str:
    return git(repo, "log", "-1", "--format=%B", rev)


def trailers(repo: Path, rev: str) -> dict[str, str]:
    """The trailers of a commit as `git interpret-trailers --parse` reads them."""
    parsed = subprocess.run(
        ["git", "interpret-trailers", "--parse"],
        input=message(repo, rev),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(line.split(": ", 1) for line in parsed.splitlines())
