"""Which preconditions a merge of BASE..HEAD breaks, read from the commits' trailers.

A commit in the range that requires a state (`Waypath-Requires:`) which another commit of
the same range provides (`Waypath-Provides:`) would reach the cluster in the same merge
as its provider: Flux never sees the state in between. That is the failure this check
exists for (the suspend and the delete merged together). Requirements whose provider is
not in the range were merged before; `live.py` can check them against the cluster.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import GitError
from engine.output.gitcli import Git
from engine.planning.preconditions import PROVIDES, REQUIRES, Condition, conditions


@dataclass
class RangeCommit:
    sha: str
    subject: str
    requires: list[Condition]
    provides: list[Condition]


@dataclass
class Violation:
    commit: RangeCommit
    provider: RangeCommit
    condition: Condition

    def __str__(self) -> str:
        return (
            f"{self.commit.sha[:12]} {self.commit.subject} needs {self.condition.state} "
            f"HelmRelease {self.condition.namespace}/{self.condition.name} "
            f"({self.condition.path}) reconciled first, but {self.provider.sha[:12]} "
            f"{self.provider.subject} is in the same merge"
        )


@dataclass
class GateResult:
    commits: list[RangeCommit]
    violations: list[Violation] = field(default_factory=list)
    pending: list[tuple[RangeCommit, Condition]] = field(default_factory=list)


def resolve(git: Git, ref: str, option: str) -> str:
    """The commit sha `ref` names; GitError naming the option when it names none."""
    proc = git.run(
        "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}", check=False
    )
    if proc.returncode != 0 or not ref:
        raise GitError(
            f"{option} {ref!r} is not a commit of {git.root}",
            hint="pass a branch, tag or sha; in CI fetch the base first "
            "(`git fetch origin main` and --base origin/main)",
        )
    return proc.stdout.decode().strip()


def range_commits(root: Path, base: str, head: str) -> list[RangeCommit]:
    git = Git(root)
    if not git.is_repo():
        raise GitError(f"{root} is not a git repository", hint="run it in the checkout of the repo")
    base_sha, head_sha = resolve(git, base, "--base"), resolve(git, head, "--head")
    raw = git.run(
        "log", "--reverse", "--no-merges", "-z", "--format=%H%x1f%s%x1f%B",
        f"{base_sha}..{head_sha}", "--",
    ).stdout.decode("utf-8", "replace")
    found = []
    for record in raw.split("\0"):
        if not record.strip():
            continue
        sha, subject, body = [*record.split("\x1f"), "", ""][:3]
        found.append(
            RangeCommit(
                sha.strip(), subject, conditions(body, REQUIRES), conditions(body, PROVIDES)
            )
        )
    return found


def check_range(root: Path, base: str, head: str = "HEAD") -> GateResult:
    """The commits of base..head and the preconditions their merge would break."""
    commits = range_commits(root, base, head)
    result = GateResult(commits)
    for position, commit in enumerate(commits):
        for need in commit.requires:
            provider = next((c for c in commits[:position] if need in c.provides), None)
            if provider is not None:
                result.violations.append(Violation(commit, provider, need))
            else:
                result.pending.append((commit, need))
    return result
