"""Reconcile a repo toward its waypath.yaml: detect, plan, and commit (or only write).

This is what Renovate hands over to: it bumps a desired release in waypath.yaml, and
`waypath sync` adds the migration. With commits (a CI job on the Renovate branch, or a
person) every phase is its own commit. Without (`--no-commit`, a Renovate post-upgrade
task, where Renovate commits the files itself in one commit) only an upgrade that is a
single commit is written: squashing phases would skip the gates between them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import Problem, SafetyError, UsageError
from engine.output.apply import apply_plan, refuse_dirty
from engine.output.gitcli import Git
from engine.output.renovate import Upgrade, components_to_sync
from engine.output.rollout import (
    Planned,
    Rollout,
    default_branch,
    plan_requests,
    planner_for,
    roll_out,
    target_label,
)
from engine.output.stack import Stack, roll_out_stack
from engine.recipe.loading import Library
from engine.repo.config import CONFIG_FILE, load_config


@dataclass
class SyncResult:
    components: list[str]
    rollout: Rollout | None = None  # with commits
    stack: Stack | None = None  # with --stack
    written: list[Planned] = field(default_factory=list)  # without commits


def sync(
    root: Path,
    library: Library,
    *,
    upgrades: list[Upgrade] | None,
    commit: bool,
    branch: str | None,
    base: str | None,
    wave: str | None,
    params: Mapping[str, str],
    assume: Mapping[str, str],
    allow_dirty: bool,
    force_branch: bool,
    author: str | None,
    tolerate: Sequence[str] = (),
    stack: bool = False,
) -> SyncResult:
    config = load_config(root)
    if config is None or not config.components:
        raise UsageError(
            f"{root / CONFIG_FILE} declares no desired release",
            hint="add `components: {linkerd: {version: enterprise-2.16.5}}` to waypath.yaml "
            "(see docs/upgrading.md), or use `waypath apply --to ...`",
        )
    names: list[str] = list(config.components)
    edited: list[str] = []
    if upgrades is not None:
        names, edited = components_to_sync(upgrades, config, library)
        if not names:
            return SyncResult(components=[])
    requests = plan_requests(
        config,
        target=None,
        params=params,
        assume=assume,
        via=(),
        allow_unsupported=False,
        wave=wave,
        components=names,
    )
    planners = [planner_for(library, r) for r in requests]
    if commit and stack:
        labels = [target_label(library, r) for r in requests]
        prefix = branch or default_branch(
            "-".join(c for c, _ in labels), "-".join(v for _, v in labels), wave
        )
        made = roll_out_stack(
            root,
            planners,
            prefix=prefix,
            base=base,
            allow_dirty=allow_dirty,
            force_branch=force_branch,
            author=author,
            tolerate=list(tolerate),
        )
        return SyncResult(components=names, stack=made)
    if commit:
        rollout = roll_out(
            root,
            planners,
            branch=branch,
            base=base,
            allow_dirty=allow_dirty,
            force_branch=force_branch,
            author=author,
            tolerate=list(tolerate),
        )
        return SyncResult(components=names, rollout=rollout)

    git = Git(root)
    if git.is_repo() and not allow_dirty:
        # Renovate's own edit is not committed yet when its post-upgrade task runs.
        refuse_dirty(git, [CONFIG_FILE, *edited, *tolerate])
    result = SyncResult(components=names)
    for planner in planners:
        planned = planner(root)
        _refuse_several_commits(planned)
        if planned.plan.has_changes:
            apply_plan(root, planned.plan, allow_dirty=True)
        result.written.append(planned)
    return result


def _refuse_several_commits(planned: Planned) -> None:
    commits = [c for c in planned.plan.commits if c.changes]
    if len(commits) <= 1:
        return
    raise SafetyError(
        f"the upgrade to {planned.plan.target} takes {len(commits)} commits; written as one "
        "(a Renovate post-upgrade task commits everything at once) it would skip the gates "
        "between them",
        problems=[Problem(c.subject) for c in commits],
        hint="let CI complete the Renovate branch with commits (`waypath sync --push origin`, "
        "see docs/ci/renovate-github.yml), or run `waypath apply --commit` yourself",
    )
