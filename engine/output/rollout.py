"""Roll plans out as git commits: which branch, whether we may write on it, one commit per
phase, and the push.

In a GitOps repo a commit is a deployment, so the branch is the rollout: its commits come
in path order, wave by wave, and Waypath only ever adds commits to a branch that holds
nothing but its own (each carries a `Waypath-Recipe:` trailer). A re-run plans from the
branch as it stands, so phases already committed (or merged) are not planned again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import GitError, Problem, UsageError
from engine.output.apply import commit_plan, refuse_dirty
from engine.output.gitcli import Git
from engine.planning.planmodel import Plan
from engine.planning.planner import PlanRequest, split_target
from engine.recipe.loading import Library
from engine.repo.config import RepoConfig
from engine.repo.workspace import Workspace

TRAILER = "Waypath-Recipe"

Reader = Callable[[str], bytes | None]


# -- what to plan: --to, or the desired releases of waypath.yaml ----------------------------


def plan_requests(
    config: RepoConfig | None,
    *,
    target: str | None,
    params: Mapping[str, str],
    assume: Mapping[str, str],
    via: Sequence[str],
    allow_unsupported: bool,
    wave: str | None,
    components: Sequence[str] = (),
) -> list[PlanRequest]:
    """One request per component to plan, in waypath.yaml order.

    `--to` wins over waypath.yaml's desired release; waypath.yaml's params (for the recipes
    that take them), assume and allow_unsupported for that component still apply, and the
    command line overrides them.
    `components` narrows the components taken from waypath.yaml (sync from Renovate data).
    """
    waves = list(config.waves) if config else []
    wanted = dict(config.components) if config else {}
    if target is not None:
        names = [(split_target(target)[0], target)]
    else:
        if not wanted:
            raise UsageError(
                "no target: pass --to COMPONENT@RELEASE",
                hint="or declare the desired release in waypath.yaml "
                "(`components: {linkerd: {version: enterprise-2.16.5}}`, see "
                "`waypath config schema`)",
            )
        chosen = [n for n in wanted if not components or n in components]
        names = [(n, f"{n}@{wanted[n].version}") for n in chosen]
    requests = []
    for name, full in names:
        entry = wanted.get(name)
        merged_assume = dict(assume)
        if entry is not None and entry.assume and name not in merged_assume:
            merged_assume[name] = entry.assume
        requests.append(
            PlanRequest(
                target=full,
                params=dict(params),
                config_params=dict(entry.params) if entry else {},
                assume=merged_assume,
                via=via,
                allow_unsupported=allow_unsupported or bool(entry and entry.allow_unsupported),
                waves=waves,
                wave=wave,
            )
        )
    return requests


def target_label(library: Library, request: PlanRequest) -> tuple[str, str]:
    """(component, release label) of a request, e.g. ("linkerd", "enterprise-2.16.5")."""
    name, release = split_target(request.target)
    return name, library.catalog(name).resolve_target(release).label


def default_branch(component: str, label: str, wave: str | None = None) -> str:
    """`waypath/linkerd-enterprise-2.16.5[-nonprod]`: the same inputs, the same branch."""
    name = f"waypath/{component}-{label}" + (f"-{wave}" if wave else "")
    return re.sub(r"[^A-Za-z0-9._/-]+", "-", name)


# -- the branch ---------------------------------------------------------------------------------


@dataclass
class BranchCommit:
    sha: str
    subject: str
    recipe: str  # the Waypath-Recipe trailer, "" when there is none


def branch_commits(git: Git, base: str, branch: str) -> list[BranchCommit]:
    """The non-merge commits of `branch` not reachable from `base`, oldest first."""
    fmt = f"%H%x1f%s%x1f%(trailers:key={TRAILER},valueonly,separator=%x2C)%x1e"
    # --end-of-options: a ref from the user (--base '--output=x') is never read as an option
    raw = git.run(
        "log", "--reverse", "--no-merges", f"--format={fmt}", "--end-of-options",
        f"{base}..{branch}", "--",
    )  # fmt: skip
    found = []
    for record in raw.stdout.decode("utf-8", "replace").split("\x1e"):
        record = record.strip("\n")
        if not record:
            continue
        sha, subject, recipe = [*record.split("\x1f"), "", ""][:3]
        found.append(BranchCommit(sha, subject, recipe.strip()))
    return found


def _resolve(git: Git, ref: str) -> str | None:
    proc = git.run(
        "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}", check=False
    )
    return proc.stdout.decode().strip() if proc.returncode == 0 else None


def guess_base(git: Git, branch: str) -> str:
    """The branch `branch` was cut from, when we are on it: origin/HEAD, main or master."""
    proc = git.run("symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD", check=False)
    candidates = [proc.stdout.decode().strip()] if proc.returncode == 0 else []
    candidates += ["main", "master"]
    for ref in candidates:
        if ref and ref != branch and _resolve(git, ref) is not None:
            return ref
    raise GitError(
        f"cannot tell which commits of branch {branch} are new",
        hint="pass --base BRANCH (the branch it was cut from), or --force-branch",
    )


def check_branch(git: Git, branch: str, base: str) -> list[BranchCommit]:
    """Waypath's commits on `branch` since `base`; GitError if any other commit is there."""
    if _resolve(git, base) is None:
        raise GitError(
            f"--base {base!r} is not a branch or commit of this repository",
            hint="pass --base BRANCH, the branch the rollout branch was cut from",
        )
    commits = branch_commits(git, base, branch)
    foreign = [c for c in commits if not c.recipe]
    if foreign:
        raise GitError(
            f"branch {branch} has {len(foreign)} commit(s) Waypath did not make "
            f"(no `{TRAILER}:` trailer) since {base}",
            problems=[Problem(f"{c.sha[:12]} {c.subject}") for c in foreign[:10]],
            hint="choose another --branch, or pass --force-branch to add commits anyway",
        )
    return commits


# -- rolling out --------------------------------------------------------------------------------


@dataclass
class Planned:
    """A plan and how to read the files it starts from (for diffs and rollback notes)."""

    plan: Plan
    read: Reader


Planner = Callable[[Path], Planned]


def with_old_files(root: Path, plan: Plan) -> Planned:
    """`plan` with the bytes its changed files hold now, read before any commit is made."""
    old: dict[str, bytes | None] = {}
    for path in sorted({c.path for commit in plan.commits for c in commit.changes}):
        file = root / path
        old[path] = file.read_bytes() if file.is_file() and not file.is_symlink() else None
    return Planned(plan, old.get)


def planner_for(library: Library, request: PlanRequest) -> Planner:
    """Plan `request` on the repo as it is when called (after the commits before it)."""

    def make(root: Path) -> Planned:
        from engine.planning.planner import make_plan

        return with_old_files(root, make_plan(Workspace(root), library, request))

    return make


@dataclass
class Section:
    """One plan as rolled out: the sha of each of its commits (None: manual-only, no commit)."""

    planned: Planned
    shas: list[str | None]


@dataclass
class Rollout:
    branch: str
    created: bool = False
    previous: list[BranchCommit] = field(default_factory=list)  # Waypath commits already there
    sections: list[Section] = field(default_factory=list)

    @property
    def made(self) -> int:
        return sum(1 for s in self.sections for sha in s.shas if sha)


def ready_repo(root: Path, *, allow_dirty: bool, tolerate: Sequence[str]) -> Git:
    """The git checkout at `root`, refused when it has no commit or (unless `allow_dirty`)
    uncommitted changes other than `tolerate`."""
    git = Git(root)
    if not git.is_repo():
        raise GitError(f"{root} is not a git repository", hint="run `git init` first")
    if git.head() is None:
        raise GitError(f"{root} has no commit yet", hint="commit the repo's files first")
    if not allow_dirty:
        refuse_dirty(git, tolerate)
    return git


def roll_out(
    root: Path,
    planners: Sequence[Planner],
    *,
    branch: str | None,
    base: str | None = None,
    allow_dirty: bool = False,
    force_branch: bool = False,
    author: str | None = None,
    tolerate: Sequence[str] = (),
) -> Rollout:
    """Plan and commit each planner's plan in turn, one commit per phase with changes.

    `branch` None commits on the checked-out branch as it is (`waypath sync`, e.g. on a
    Renovate branch). A named branch is created from HEAD if missing; if it exists, every
    commit it has since `base` (default: the branch we are on, or origin/HEAD, main or
    master when we are on it) must be Waypath's, unless `force_branch`.
    """
    git = ready_repo(root, allow_dirty=allow_dirty, tolerate=tolerate)
    start = git.current_branch()
    if branch is None or branch == start:
        if start is None:
            raise GitError("HEAD is detached", hint="check out a branch, or pass --branch NAME")
        rollout = Rollout(branch=start)
        if branch is not None and not force_branch:
            rollout.previous = check_branch(git, start, base or guess_base(git, start))
        return _commit_all(root, git, planners, rollout, allow_dirty, author, create=False)

    rollout = Rollout(branch=branch)
    if not git.branch_exists(branch):
        return _commit_all(root, git, planners, rollout, allow_dirty, author, create=True)
    base_ref = base or start or "HEAD"
    if not force_branch:
        rollout.previous = check_branch(git, branch, base_ref)
    fully_merged = not rollout.previous and not force_branch and start is not None
    if fully_merged and _resolve(git, branch) != _resolve(git, start or "HEAD"):
        # Everything it had is merged: move it up to where we start (a fast-forward).
        git.run("branch", "--force", branch, start or "HEAD")
    git.checkout(branch)
    tip = git.head()
    try:
        return _commit_all(root, git, planners, rollout, allow_dirty, author, create=False)
    except BaseException:
        if git.head() == tip and start is not None:
            git.checkout(start)  # nothing was committed: leave the user where they were
        raise


def _commit_all(
    root: Path,
    git: Git,
    planners: Sequence[Planner],
    rollout: Rollout,
    allow_dirty: bool,
    author: str | None,
    *,
    create: bool,
) -> Rollout:
    """Run the planners in order; create the branch (from HEAD) before the first commit,
    so a run with nothing to do leaves no empty branch behind."""
    pending_create = create
    start, start_sha = git.current_branch(), git.head()
    try:
        for planner in planners:
            planned = planner(root)
            plan = planned.plan
            if plan.has_changes and pending_create:
                git.create_branch(rollout.branch)
                git.checkout(rollout.branch)
                rollout.created, pending_create = True, False
            made: list[str] = []
            if plan.has_changes:
                made = commit_plan(
                    root, plan, branch=None, allow_dirty=allow_dirty, author=author
                )
            shas: list[str | None] = []
            it = iter(made)
            for commit in plan.commits:
                shas.append(next(it) if commit.changes else None)
            rollout.sections.append(Section(planned, shas))
    except BaseException:
        if rollout.created and git.head() == start_sha and start_sha is not None:
            if start is not None:
                git.checkout(start)
            else:
                git.run("checkout", "--quiet", "--detach", start_sha)
            git.run("branch", "-D", rollout.branch)
            rollout.created = False
        raise
    return rollout


def push(root: Path, remote: str, branch: str) -> None:
    Git(root).push(remote, branch)
