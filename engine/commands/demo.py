"""`waypath demo`: copy the bundled example repo into a temporary git repo and upgrade it.

This is the README's first command: it shows Waypath end to end with nothing to set up.
"""

from __future__ import annotations

import importlib.util
import io
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TextIO

from engine.commands import apply as apply_command
from engine.commands import common
from engine.commands import detect as detect_command
from engine.commands import plan as plan_command
from engine.error_handler import EXIT_OK
from engine.errors import RepoError
from engine.output.rollout import default_branch
from engine.planning.planner import split_target
from engine.repo.config import CONFIG_FILE

_DEMO_ENV = {
    "GIT_AUTHOR_NAME": "Waypath demo",
    "GIT_AUTHOR_EMAIL": "demo@waypath.invalid",
    "GIT_COMMITTER_NAME": "Waypath demo",
    "GIT_COMMITTER_EMAIL": "demo@waypath.invalid",
}


def examples_dir() -> Path:
    """The example repo: shipped in the wheel as `engine.examples_data`, or the checkout's."""
    try:
        spec = importlib.util.find_spec("engine.examples_data")
    except ModuleNotFoundError:
        spec = None
    # A namespace package (no __init__.py): its folder is in the search locations.
    for location in (spec.submodule_search_locations or []) if spec else []:
        if (Path(location) / "clusters").is_dir():
            return Path(location)
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
    # The demo's commits need an identity even where git has none configured.
    _git(dest, "config", "user.name", _DEMO_ENV["GIT_AUTHOR_NAME"])
    _git(dest, "config", "user.email", _DEMO_ENV["GIT_AUTHOR_EMAIL"])
    _git(dest, "add", "-A")
    _git(dest, "commit", "-q", "-m", "Example Flux repo at Linkerd stable-2.11.5")
    return dest


DEMO_CONFIG = """\
# Written by `waypath demo`: the desired release and the rollout waves.
apiVersion: waypath.dev/v1
kind: Config
components:
  linkerd:
    # renovate: datasource=helm depName=linkerd-enterprise-control-plane registryUrl=https://helm.buoyant.cloud
    version: {version}
waves:
  - name: nonprod
    paths: [clusters/nonprod]
  - name: prod
    paths: [clusters/prod]
    description: after nonprod is validated
"""


def add_config(repo: Path, version: str) -> None:
    (repo / CONFIG_FILE).write_text(DEMO_CONFIG.format(version=version), encoding="utf-8")
    _git(repo, "add", CONFIG_FILE)
    _git(repo, "commit", "-q", "-m", f"Declare Linkerd {version} and the rollout waves")


def _plan_summary(repo: Path, out: TextIO) -> None:
    """The plan up to its commits (the MR description holds the rest)."""
    text = io.StringIO()
    plan_command.run(
        repo=repo, target=None, recipe_dirs=[], params={}, assume={}, via=[],
        allow_unsupported=False, fmt="text", diff=False, out_file=None, out=text,
    )
    lines = text.getvalue().splitlines()
    head = lines[: lines.index("Commits:")] if "Commits:" in lines else lines
    out.write("\n".join(head).rstrip("\n") + "\n")
    out.write((lines[-1] if lines else "") + "\n")


def run(*, target: str, keep: Path | None, out: TextIO) -> int:
    base = keep if keep is not None else Path(tempfile.mkdtemp(prefix="waypath-demo-"))
    repo = make_repo(base / "fleet" if keep is None else base)
    component, release = split_target(target)
    version = common.library([]).catalog(component).resolve_target(release).label
    add_config(repo, version)
    description = repo.parent / f"{repo.name}-merge-request.md"
    out.write(f"== example Flux repo copied to {repo}, with a {CONFIG_FILE}:\n")
    out.write((repo / CONFIG_FILE).read_text(encoding="utf-8"))
    out.write("\n== waypath detect\n")
    detect_command.run(repo=repo, recipe_dirs=[], assume={}, fmt="text", out=out)
    out.write("\n== waypath plan   (target and waves from waypath.yaml)\n")
    _plan_summary(repo, out)
    out.write(f"\n== waypath apply --commit --describe {description}\n")
    apply_command.run(
        repo=repo, target=None, plan_file=None, recipe_dirs=[], params={}, assume={},
        via=[], allow_unsupported=False, allow_dirty=False, out=out, commit=True,
        describe_file=description,
    )
    out.write("\n== waypath apply --commit   (again: nothing left to do)\n")
    apply_command.run(
        repo=repo, target=None, plan_file=None, recipe_dirs=[], params={}, assume={},
        via=[], allow_unsupported=False, allow_dirty=False, out=out, commit=True,
    )
    branch = default_branch(component, version)
    out.write(f"\n== git log --oneline main..{branch}\n")
    log = subprocess.run(
        ["git", "log", "--oneline", "--reverse", f"main..{branch}"],
        cwd=repo, capture_output=True, text=True, check=True,
    )
    out.write(log.stdout)
    out.write(
        f"\nThe branch {branch} is in {repo} (`git -C {repo} log -p main..{branch}`);\n"
        f"the merge request description is {description}.\n"
    )
    return EXIT_OK
