"""`waypath demo`: copy the bundled example repo into a temporary git repo and upgrade it.

This is the README's first command: it shows Waypath end to end with nothing to set up,
as a short tutorial (each step says what happened and why). Everything goes into one
folder: a temporary one, removed at the end, or `--keep DIR`.
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
from engine.errors import RepoError, UsageError
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
    )  # fmt: skip
    lines = text.getvalue().splitlines()
    head = lines[: lines.index("Commits:")] if "Commits:" in lines else lines
    out.write(_indent("\n".join(head).rstrip("\n") + "\n" + (lines[-1] if lines else "") + "\n"))


def _indent(text: str) -> str:
    return "".join(f"  {line}" if line.strip() else line for line in text.splitlines(True))


def _apply(repo: Path, describe_file: Path | None) -> str:
    text = io.StringIO()
    apply_command.run(
        repo=repo, target=None, plan_file=None, recipe_dirs=[], params={}, assume={},
        via=[], allow_unsupported=False, allow_dirty=False, out=text, commit=True,
        describe_file=describe_file,
    )  # fmt: skip
    # the section already says where the description goes
    lines = text.getvalue().splitlines(True)
    return "".join(line for line in lines if not line.startswith("merge request description"))


def _folder(keep: Path | None) -> Path:
    if keep is None:
        return Path(tempfile.mkdtemp(prefix="waypath-demo-"))
    if ".git" in Path(os.path.realpath(keep)).parts:  # as --out and --describe
        raise UsageError(f"--keep {keep} is inside a .git folder", hint="keep it elsewhere")
    if keep.exists() and (not keep.is_dir() or any(keep.iterdir())):
        raise UsageError(
            f"--keep {keep}: the folder exists and is not empty",
            hint="give a new or empty folder; the demo puts the repo and the merge request "
            "description inside it",
        )
    keep.mkdir(parents=True, exist_ok=True)
    return keep


def run(*, target: str, keep: Path | None, out: TextIO) -> int:
    component, release = split_target(target)  # a bad target is refused before any write
    version = common.library([]).catalog(component).resolve_target(release).label
    folder = _folder(keep)
    try:
        branch = _tour(folder, component, version, out)
    finally:
        if keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    if keep is None:
        out.write(
            "\nThe demo folder was removed. `waypath demo --keep DIR` keeps the repo (DIR/fleet)\n"
            "and the merge request description (DIR/merge-request.md) to look at.\n"
        )
    else:
        out.write(
            "\nKept in the folder above: fleet/ (see every change with "
            f"`git -C fleet log -p main..{branch}`)\nand merge-request.md.\n"
        )
    return EXIT_OK


def _tour(folder: Path, component: str, version: str, out: TextIO) -> str:
    repo = make_repo(folder / "fleet")
    add_config(repo, version)
    description = folder / "merge-request.md"
    branch = default_branch(component, version)
    out.write(
        f"Waypath demo: upgrade an example Flux repo to {component} {version}.\n"
        f"Working in {folder}: the repo is fleet/, the merge request description "
        "merge-request.md.\n"
    )
    out.write(
        "\n1. The repo\n"
        "A copy of the bundled example, committed on `main`: two clusters, clusters/nonprod\n"
        "and clusters/prod, each running Linkerd through Flux HelmReleases. The demo adds a\n"
        f"{CONFIG_FILE}: the release you want, and the waves the rollout goes through in order.\n\n"
    )
    out.write(_indent((repo / CONFIG_FILE).read_text(encoding="utf-8")))
    out.write(
        "\n2. What is installed: `waypath detect`\n"
        "Read from the files alone (no cluster access): each HelmRelease's chart and pin tell\n"
        "the running release.\n\n"
    )
    text = io.StringIO()
    detect_command.run(repo=repo, recipe_dirs=[], assume={}, fmt="text", out=text)
    out.write(_indent(text.getvalue()))
    out.write(
        "\n3. The plan: `waypath plan`\n"
        f"The target and the waves come from {CONFIG_FILE}. Waypath finds a path of reviewed\n"
        "recipes from each cluster's release to the target, one hop per supported upgrade,\n"
        "and writes nothing yet.\n\n"
    )
    _plan_summary(repo, out)
    out.write(
        "\n4. The commits: `waypath apply --commit --describe merge-request.md`\n"
        f"One git commit per phase on the new branch {branch}, wave nonprod first, then prod.\n"
        "Merge them one at a time: Flux reconciles each commit before the next, and the\n"
        "description says what to check in between.\n\n"
    )
    out.write(_indent(_apply(repo, description)))
    out.write(
        "\n  (manual only, no commit): a phase whose work is done by hand (e.g. deleting the\n"
        "  Helm release left behind after a chart split). It makes no commit; its commands are\n"
        "  in the merge request description, at the place in the order where they belong.\n"
        "  (files already changed): the files already hold this phase's edits (made by hand,\n"
        "  or by an earlier commit to a file the waves share), so there is nothing to commit;\n"
        "  its manual steps and its gate still apply, so it stays in the list.\n"
    )
    out.write(
        "\n5. Run it again: `waypath apply --commit`\n"
        "Waypath plans from the branch as it stands. Every phase's edits are there, so there is\n"
        "nothing to commit: re-running (after a rebase, in CI) is safe.\n\n"
    )
    out.write(_indent(_apply(repo, None)))
    out.write(f"\n6. The result: `git log --oneline main..{branch}` in fleet/\n\n")
    log = subprocess.run(
        ["git", "log", "--oneline", "--reverse", f"main..{branch}"],
        cwd=repo, capture_output=True, text=True, check=True,
    )  # fmt: skip
    out.write(_indent(log.stdout))
    return branch
