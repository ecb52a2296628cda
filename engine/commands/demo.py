"""`waypath demo`: copy the bundled example repo into a temporary git repo and upgrade it.

This is the README's first command: it shows Waypath end to end with nothing to set up.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from importlib import resources
from pathlib import Path
from typing import TextIO

from engine.commands import apply as apply_command
from engine.commands import detect as detect_command
from engine.commands import plan as plan_command
from engine.error_handler import EXIT_OK
from engine.errors import RepoError

DEMO_TARGET = "linkerd@enterprise-2.16"
_DEMO_ENV = {
    "GIT_AUTHOR_NAME": "Waypath demo",
    "GIT_AUTHOR_EMAIL": "demo@waypath.invalid",
    "GIT_COMMITTER_NAME": "Waypath demo",
    "GIT_COMMITTER_EMAIL": "demo@waypath.invalid",
}


def examples_dir() -> Path:
    """The example repo: shipped in the wheel as `engine.examples_data`, or the checkout's."""
    try:
        packaged = Path(str(resources.files("engine.examples_data")))
        if (packaged / "clusters").is_dir():
            return packaged
    except ModuleNotFoundError:
        pass
    checkout = Path(__file__).resolve().parents[2] / "examples"
    if (checkout / "clusters").is_dir():
        return checkout
    raise RepoError(
        "the bundled example repo is missing from this installation",
        hint="reinstall Waypath (`pip install .` from a checkout)",
    )


def _git(repo: Path, *args: str) -> None:
    env = {**os.environ, **_DEMO_ENV}
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def make_repo(dest: Path) -> Path:
    shutil.copytree(
        examples_dir(), dest, ignore=shutil.ignore_patterns("__pycache__", "__init__.py")
    )
    _git(dest, "init", "-q", "-b", "main")
    _git(dest, "add", "-A")
    _git(dest, "commit", "-q", "-m", "Example Flux repo at Linkerd stable-2.11.5")
    return dest


def run(*, target: str, keep: Path | None, out: TextIO) -> int:
    base = keep if keep is not None else Path(tempfile.mkdtemp(prefix="waypath-demo-"))
    repo = make_repo(base / "fleet" if keep is None else base)
    out.write(f"== example Flux repo copied to {repo}\n\n")
    out.write("== waypath detect\n")
    detect_command.run(repo=repo, recipe_dirs=[], assume={}, fmt="text", out=out)
    out.write(f"\n== waypath plan --to {target}\n")
    def plan() -> None:
        plan_command.run(
            repo=repo, target=target, recipe_dirs=[], params={}, assume={}, via=[],
            allow_unsupported=False, fmt="text", diff=False, out_file=None, out=out,
        )

    plan()
    out.write(f"\n== waypath apply --to {target}\n")
    apply_command.run(
        repo=repo, target=target, plan_file=None, recipe_dirs=[], params={}, assume={},
        via=[], allow_unsupported=False, allow_dirty=False, out=out,
    )
    out.write(f"\n== waypath plan --to {target} (again: nothing left to do)\n")
    plan()
    out.write(f"\nThe upgraded repo is in {repo}; `git -C {repo} diff` shows every change.\n")
    return EXIT_OK
