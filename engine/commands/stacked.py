"""`--stack` for `apply --commit` and `sync`: one branch per phase, its description, the
push and the merge requests (opened with --open, or printed)."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any, TextIO

from engine.errors import UsageError
from engine.output.forge import MergeRequest, check_forge, forge_branch, open_request, shown
from engine.output.gitcli import Git
from engine.output.rollout import push
from engine.output.stack import Stack
from engine.output.stepdescribe import describe_step, file_name


def check_options(
    *, stack: bool, describe_file: Path | None, open_forge: str | None, push_remote: str | None
) -> None:
    """Refuse option combinations that cannot work, before anything is written."""
    if not stack:
        refuse_folder(describe_file)
    if open_forge is not None and not stack:
        raise UsageError("--open needs --stack", hint="add --stack: one merge request per phase")
    if open_forge is None:
        return
    check_forge(open_forge)
    if push_remote is None:
        raise UsageError(
            "--open needs --push REMOTE: the merge requests need the branches on the forge",
            hint="add --push origin",
        )
    if describe_file is None:
        raise UsageError(
            "--open needs --describe DIR: each merge request's description is written there",
            hint="add --describe mr/ (a folder; one NN-<phase>.md per branch)",
        )


def refuse_folder(describe_file: Path | None) -> None:
    """--describe names one file unless --stack."""
    if describe_file is not None and describe_file.is_dir():
        raise UsageError(
            f"--describe {describe_file} is a folder",
            hint="give a file name (a folder of one description per branch needs --stack)",
        )


def tolerated(repo: Path, folder: Path | None) -> list[str]:
    """The description files of an earlier run inside the repo (not 'uncommitted changes')."""
    if folder is None or not folder.is_dir():
        return []
    try:
        rel = folder.resolve().relative_to(repo.resolve())
    except ValueError:
        return []
    return [(rel / p.name).as_posix() for p in sorted(folder.glob("*.md"))]


def report_stack(stack: Stack, out: TextIO) -> None:
    for branch in stack.branches:
        state = "merged" if branch.merged else ("new" if branch.created else "kept")
        subject = f" {branch.commit.subject}" if branch.commit else ""
        out.write(f"{branch.sha[:12]} {branch.name} ({state}){subject}\n")
    for section in stack.sections:
        for commit, sha in zip(section.planned.plan.commits, section.shas, strict=True):
            if not sha and commit.notes:
                out.write(f"  (manual only, no commit) {commit.subject}\n")
    if stack.made:
        out.write(f"made {len(stack.made)} branch(es) on top of {stack.base}\n")
    else:
        out.write(f"nothing to do: no new branch in the stack {stack.prefix}/\n")


def finish_stack(
    root: Path,
    stack: Stack,
    *,
    describe_dir: Path | None,
    push_remote: str | None,
    open_forge: str | None,
    out: TextIO,
) -> dict[str, str]:
    """Write the descriptions, push, and open (or print the commands for) the merge requests;
    return the address of each merge request opened, by branch."""
    report_stack(stack, out)
    remotes = Git(root).run("remote").stdout.decode().split()
    target = forge_branch(stack.base, remotes)
    if describe_dir is not None and stack.made:
        if describe_dir.exists() and not describe_dir.is_dir():
            raise UsageError(
                f"--describe {describe_dir}: with --stack this is a folder, and a file is there",
                hint="pass a folder (it is created), e.g. --describe mr/",
            )
        describe_dir.mkdir(parents=True, exist_ok=True)
        for branch in stack.made:
            path = describe_dir / file_name(branch, stack.prefix)
            path.write_text(describe_step(stack, branch, target=target), encoding="utf-8")
        out.write(f"{len(stack.made)} merge request description(s) written to {describe_dir}\n")
    if push_remote is not None:
        for branch in stack.branches:
            if not branch.merged:
                push(root, push_remote, branch.name)
        pushed = sum(1 for b in stack.branches if not b.merged)
        out.write(f"pushed {pushed} branch(es) to {push_remote}\n")
    if not stack.made:
        return {}
    requests = []
    for branch in stack.made:
        previous = stack.previous(branch)
        body = (describe_dir or Path("mr")) / file_name(branch, stack.prefix)
        total = max(b.number for b in stack.branches)
        assert branch.commit is not None
        requests.append(
            MergeRequest(
                source=branch.name,
                target=previous.name if previous else target,
                title=f"{branch.number:02d}/{total:02d} {branch.commit.subject}",
                body_file=body,
                draft=previous is not None,
            )
        )
    if open_forge is None:
        if push_remote is None:
            names = " ".join(shlex.quote(b.name) for b in stack.branches if not b.merged)
            out.write(f"push the branches (--push REMOTE does it):\n  git push origin {names}\n")
        out.write("open the merge requests in this order (--open github|gitlab does it):\n")
        for request in requests:
            out.write(f"  {shown('github', request)}\n")
        out.write("  or, on GitLab:\n")
        for request in requests:
            out.write(f"  {shown('gitlab', request)}\n")
        return {}
    refs: dict[str, str] = {}
    for branch, request in zip(stack.made, requests, strict=True):
        # Re-written now that the merge request before it has an address to point to.
        request.body_file.write_text(
            describe_step(stack, branch, target=target, refs=refs), encoding="utf-8"
        )
        refs[branch.name] = open_request(open_forge, request)
        out.write(f"opened {refs[branch.name]} ({branch.name} -> {request.target})\n")
    return refs


def as_json(stack: Stack, opened: dict[str, str], pushed: str | None) -> dict[str, Any]:
    """The stack for `--format json`."""
    return {
        "stack": stack.prefix,
        "base": stack.base,
        "branches": [
            {
                "name": b.name,
                "number": b.number,
                "sha": b.sha,
                "state": "merged" if b.merged else ("new" if b.created else "kept"),
                "subject": b.commit.subject if b.commit else None,
                "merge_request": opened.get(b.name),
            }
            for b in stack.branches
        ],
        "pushed": pushed,
    }
