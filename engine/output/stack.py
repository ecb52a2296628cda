"""Roll plans out as a stack of branches: one branch per phase commit, for protected bases.

Where the branch Flux watches only takes merge requests, one merge request per phase is
the only way to merge the phases one at a time. Branch `<prefix>/NN-<phase>` holds commits
1..NN; each is based on the one before, so its merge request (targeting the branch before
it) shows only its own phase.

Re-runs never rewrite a branch: the existing stack is read from `refs/heads/<prefix>/`,
checked (each branch contains the one before it; only Waypath's commits unless
`force_branch`), and new phases are planned from the tip of the highest branch that is not
merged yet, or from the base once every branch is merged. A branch whose tip is reachable
from the base is merged: done. New branches continue the numbering.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import GitError, Problem
from engine.output.apply import commit_plan
from engine.output.gitcli import Git
from engine.output.rollout import Planner, Section, check_branch, guess_base, ready_repo
from engine.planning.planmodel import Commit

_NUMBERED = re.compile(r"^(\d{2,})-")


@dataclass
class StackBranch:
    """One branch of the stack."""

    number: int
    name: str
    sha: str
    merged: bool = False
    created: bool = False
    commit: Commit | None = None  # the planned commit, for branches made by this run
    section: int | None = None  # index into Stack.sections, for branches made by this run
    index: int | None = None  # index of the commit in that section's plan


@dataclass
class Stack:
    prefix: str
    base: str
    branches: list[StackBranch] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)

    @property
    def made(self) -> list[StackBranch]:
        return [b for b in self.branches if b.created]

    def previous(self, branch: StackBranch) -> StackBranch | None:
        """The branch this one's merge request targets: the unmerged branch before it."""
        before = [b for b in self.branches if b.number < branch.number and not b.merged]
        return before[-1] if before else None


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "phase"


def branch_name(prefix: str, number: int, commit: Commit) -> str:
    """`<prefix>/03-suspend` (`03-suspend-prod` when the commit belongs to a wave)."""
    phase = slug(commit.phase) + (f"-{slug(commit.wave)}" if commit.wave else "")
    return f"{prefix}/{number:02d}-{phase}"


def _sha(git: Git, ref: str) -> str | None:
    proc = git.run("rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}",
                   check=False)
    return proc.stdout.decode().strip() if proc.returncode == 0 else None


def _is_ancestor(git: Git, older: str, newer: str) -> bool:
    return git.run("merge-base", "--is-ancestor", older, newer, check=False).returncode == 0


def existing_stack(
    git: Git, prefix: str, base: str, base_sha: str, *, force_branch: bool
) -> list[StackBranch]:
    """The stack's branches as they are, checked; GitError when they are not a stack."""
    raw = git.run(
        "for-each-ref", "--format=%(refname)%00%(objectname)", f"refs/heads/{prefix}/"
    ).stdout.decode("utf-8", "surrogateescape")
    found: list[StackBranch] = []
    for line in raw.splitlines():
        ref, _, sha = line.partition("\0")
        name = ref.removeprefix("refs/heads/")
        match = _NUMBERED.match(name[len(prefix) + 1 :])
        if match:
            found.append(StackBranch(int(match.group(1)), name, sha))
    found.sort(key=lambda b: (b.number, b.name))
    numbers = [b.number for b in found]
    if len(set(numbers)) != len(numbers):
        twice = sorted({b.name for b in found if numbers.count(b.number) > 1})
        raise GitError(
            f"the stack {prefix}/ has two branches with the same number",
            problems=[Problem(n) for n in twice],
            hint="delete the one that is not part of the stack",
        )
    for before, branch in itertools.pairwise(found):
        if not _is_ancestor(git, before.sha, branch.sha):
            raise GitError(
                f"branch {branch.name} is not based on {before.name}: the stack is broken",
                hint=f"rebase {branch.name} and the branches after it onto {before.name} "
                "(`git rebase --update-refs`), or delete them and run again",
            )
    for position, branch in enumerate(found):
        branch.merged = _is_ancestor(git, branch.sha, base_sha)
        if not force_branch and not branch.merged:
            check_branch(git, branch.name, found[position - 1].name if position else base)
    return found


def roll_out_stack(
    root: Path,
    planners: Sequence[Planner],
    *,
    prefix: str,
    base: str | None = None,
    allow_dirty: bool = False,
    force_branch: bool = False,
    author: str | None = None,
    tolerate: Sequence[str] = (),
) -> Stack:
    """Plan from the top of the stack and make one branch per new phase commit."""
    git = ready_repo(root, allow_dirty=allow_dirty, tolerate=tolerate)
    start = git.current_branch()
    if base is None:
        on_stack = start is not None and start.startswith(f"{prefix}/")
        base = start if start is not None and not on_stack else guess_base(git, start or "")
    base_sha = _sha(git, base)
    if base_sha is None:
        raise GitError(
            f"--base {base!r} is not a branch or commit of this repository",
            hint="pass the branch the merge requests go to, e.g. --base main",
        )
    if git.branch_exists(prefix):
        raise GitError(
            f"branch {prefix} exists: the stack's branches are named {prefix}/NN-<phase>, and "
            "git cannot hold a branch and branches under it with the same name",
            hint=f"delete or rename {prefix} (made by a run without --stack), or pass "
            "--branch OTHER",
        )
    branches = existing_stack(git, prefix, base, base_sha, force_branch=force_branch)
    stack = Stack(prefix, base, branches)
    open_ = [b for b in stack.branches if not b.merged]
    tip = open_[-1].sha if open_ else base_sha
    number = max((b.number for b in stack.branches), default=0)
    git.run("checkout", "--quiet", "--detach", tip)
    try:
        for planner in planners:
            planned = planner(root)
            section = Section(planned, [None] * len(planned.plan.commits))
            stack.sections.append(section)
            if not planned.plan.has_changes:
                continue
            try:
                # The tree was checked above (with `tolerate`); our own commits leave it clean.
                commit_plan(root, planned.plan, branch=None, allow_dirty=True, author=author)
            finally:
                # Label what was committed, also when a later commit of the plan failed.
                number = _label(git, stack, section, tip, number)
                tip = git.head() or tip
    finally:
        top = stack.made[-1].name if stack.made else start
        if top is not None:
            git.checkout(top)
    return stack


def _label(git: Git, stack: Stack, section: Section, tip: str, number: int) -> int:
    """Create one branch per commit made since `tip`, in order; fill in the section's shas."""
    made = [sha for sha, _ in git.log(f"{tip}..HEAD")]
    plan = section.planned.plan
    with_changes = [i for i, c in enumerate(plan.commits) if c.changes]
    for sha, index in zip(made, with_changes, strict=False):
        number += 1
        commit = plan.commits[index]
        name = branch_name(stack.prefix, number, commit)
        git.create_branch(name, sha)
        section.shas[index] = sha
        stack.branches.append(
            StackBranch(
                number, name, sha, created=True, commit=commit,
                section=len(stack.sections) - 1, index=index,
            )
        )
    return number
