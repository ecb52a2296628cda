"""Opening the merge requests of a stack with the forge's own command line.

GitHub: `gh pr create --base PREVIOUS --head THIS --title T --body-file F [--draft]`.
GitLab: `glab mr create --target-branch PREVIOUS --source-branch THIS --title T
--description TEXT [--draft] --yes` (glab has no body-file flag, so the file's text is
passed; printed as `"$(cat F)"`). Each merge request targets the branch before it, so it
shows only its own phase; every one after the first is a draft until its turn comes.
Both flag sets are the CLIs' documented ones (`gh pr create --help` of gh 2.23;
glab's docs/source/mr/create.rst); tests/test_forge.py checks them.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.errors import GitError, UsageError

FORGES = ("github", "gitlab")
_CLI = {"github": "gh", "gitlab": "glab"}


@dataclass
class MergeRequest:
    source: str  # the stack branch
    target: str  # the branch before it, or the base
    title: str
    body_file: Path
    draft: bool


def check_forge(forge: str) -> str:
    if forge not in FORGES:
        raise UsageError(
            f"--open {forge!r} is not a forge Waypath knows",
            hint="use --open github (the gh CLI) or --open gitlab (the glab CLI)",
        )
    return forge


def argv(forge: str, request: MergeRequest, *, body: str | None = None) -> list[str]:
    """The command that opens `request`; for GitLab `body` is the description's text."""
    if check_forge(forge) == "github":
        args = ["gh", "pr", "create", "--base", request.target, "--head", request.source,
                "--title", request.title, "--body-file", str(request.body_file)]
        return args + (["--draft"] if request.draft else [])
    text = body if body is not None else request.body_file.read_text(encoding="utf-8")
    args = ["glab", "mr", "create", "--target-branch", request.target,
            "--source-branch", request.source, "--title", request.title, "--description", text]
    return args + (["--draft"] if request.draft else []) + ["--yes"]


def shown(forge: str, request: MergeRequest) -> str:
    """The command as a person pastes it into a POSIX shell."""
    marker = "\0description\0"
    args = argv(forge, request, body=marker)
    return " ".join(
        f'"$(cat {shlex.quote(str(request.body_file))})"' if a == marker else shlex.quote(a)
        for a in args
    )


Runner = Callable[[list[str]], "subprocess.CompletedProcess[str]"]


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)


def open_request(forge: str, request: MergeRequest, run: Runner = _run) -> str:
    """Open one merge request; return what the CLI printed last (its URL)."""
    args = argv(forge, request)
    try:
        proc = run(args)
    except FileNotFoundError as exc:
        raise GitError(
            f"{_CLI[forge]} is not installed (or not on PATH)",
            hint=f"install the {_CLI[forge]} CLI and log in, or leave out --open to get the "
            "commands printed",
        ) from exc
    if proc.returncode != 0:
        raise GitError(
            f"`{_CLI[forge]} {' '.join(args[1:3])}` failed for {request.source} "
            f"(exit {proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}",
            hint="the branches are pushed; fix the cause (login, permissions) and open the "
            "rest with the printed commands, or run again",
        )
    lines = [line.strip() for line in proc.stdout.splitlines() if line.strip()]
    urls = [line for line in lines if line.startswith(("http://", "https://"))]
    return urls[-1] if urls else (lines[-1] if lines else "")


def forge_branch(name: str, remotes: Sequence[str]) -> str:
    """The forge's name of a base ref: `origin/main` and `refs/heads/main` are `main`."""
    name = name.removeprefix("refs/heads/").removeprefix("refs/remotes/")
    for remote in remotes:
        if name.startswith(f"{remote}/"):
            return name[len(remote) + 1 :]
    return name
