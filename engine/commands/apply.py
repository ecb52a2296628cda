"""`waypath apply`: write a plan (made now, or read from plan.json) to the working tree,
or with `--commit` as one git commit per phase on a branch."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

from engine.commands import common, report, stacked
from engine.error_handler import EXIT_OK
from engine.errors import UsageError
from engine.output.apply import apply_plan
from engine.output.describe import Described, describe
from engine.output.outfile import check_output, write_output
from engine.output.rollout import (
    Planner,
    Rollout,
    default_branch,
    plan_requests,
    planner_for,
    push,
    roll_out,
    target_label,
    with_old_files,
)
from engine.output.stack import roll_out_stack
from engine.planning.planfile import read_plan
from engine.planning.planner import split_target
from engine.repo.config import load_config


def inside(repo: Path, path: Path | None) -> list[str]:
    """`path` relative to the repo, if it lies inside it (a --describe file to tolerate)."""
    if path is None:
        return []
    try:
        return [path.resolve().relative_to(repo.resolve()).as_posix()]
    except ValueError:
        return []


def report_rollout(rollout: Rollout, out: TextIO) -> None:
    for section in rollout.sections:
        for commit, sha in zip(section.planned.plan.commits, section.shas, strict=True):
            if sha:
                out.write(f"{sha[:12]} {commit.subject}\n")
            elif commit.notes:
                out.write(f"  (manual only, no commit) {commit.subject}\n")
    if rollout.made:
        where = "new branch" if rollout.created else "branch"
        out.write(f"made {rollout.made} commit(s) on {where} {rollout.branch}\n")
    else:
        out.write(f"nothing to do: no new commit on {rollout.branch}\n")


def write_description(rollout: Rollout, path: Path, base: str | None, out: TextIO) -> None:
    parts = [Described(s.planned.plan, s.planned.read, s.shas) for s in rollout.sections]
    text = describe(
        parts,
        branch=rollout.branch,
        base=base,
        previous=[(c.sha, c.subject) for c in rollout.previous],
    )
    write_output(path, text)
    out.write(f"merge request description written to {path}\n")


def _run(
    *,
    repo: Path,
    target: str | None,
    plan_file: Path | None,
    recipe_dirs: Sequence[Path],
    params: Mapping[str, str],
    assume: Mapping[str, str],
    via: Sequence[str],
    allow_unsupported: bool,
    allow_dirty: bool,
    out: TextIO,
    commit: bool = False,
    branch: str | None = None,
    base: str | None = None,
    author: str | None = None,
    wave: str | None = None,
    describe_file: Path | None = None,
    push_remote: str | None = None,
    force_branch: bool = False,
    fmt: str = "text",
    stack: bool = False,
    open_forge: str | None = None,
) -> int:
    text = report.text_sink(out, fmt)
    if target is not None and plan_file is not None:
        raise UsageError(
            "give either --to COMPONENT@RELEASE or a PLAN.json file, not both",
            hint="`waypath apply --to linkerd@enterprise-2.16` or `waypath apply plan.json`",
        )
    if not commit and (branch or author or push_remote or force_branch or base or stack):
        raise UsageError(
            "--branch, --base, --author, --push, --force-branch and --stack need --commit",
            hint="add --commit to make one git commit per phase",
        )
    stacked.check_options(
        stack=stack, describe_file=describe_file, open_forge=open_forge, push_remote=push_remote
    )
    root = repo.resolve()
    if describe_file is not None and not stack:  # checked before any change, written last
        describe_file = check_output(describe_file, "--describe", root)
    planners: list[Planner]
    if plan_file is not None:
        if wave is not None:
            raise UsageError("--wave applies when planning; the plan file is already made")
        fixed = read_plan(plan_file)
        planners = [lambda root: with_old_files(root, fixed)]
        component, release = split_target(fixed.target)
        default = default_branch(component, release, wave)
    else:
        lib = common.library(recipe_dirs)
        requests = plan_requests(
            load_config(root),
            target=target,
            params=params,
            assume=assume,
            via=via,
            allow_unsupported=allow_unsupported,
            wave=wave,
        )
        if len(requests) > 1 and not commit:
            raise UsageError(
                "waypath.yaml names several components: " + ", ".join(r.target for r in requests),
                hint="pass --to for one of them, or write them all as commits with "
                "`waypath apply --commit` / `waypath sync`",
            )
        planners = [planner_for(lib, r) for r in requests]
        labels = [target_label(lib, r) for r in requests]
        default = default_branch(
            "-".join(c for c, _ in labels), "-".join(v for _, v in labels), wave
        )

    if commit and stack:
        made = roll_out_stack(
            root,
            planners,
            prefix=branch or default,
            base=base,
            allow_dirty=allow_dirty,
            force_branch=force_branch,
            author=author,
            tolerate=stacked.tolerated(root, describe_file),
        )
        opened = stacked.finish_stack(
            root,
            made,
            describe_dir=describe_file,
            push_remote=push_remote,
            open_forge=open_forge,
            out=text,
        )
        if fmt == "json":
            report.write(out, "apply", stacked.as_json(made, opened, push_remote))
        return EXIT_OK
    if commit:
        rollout = roll_out(
            root,
            planners,
            branch=branch or default,
            base=base,
            allow_dirty=allow_dirty,
            force_branch=force_branch,
            author=author,
            tolerate=inside(root, describe_file),
        )
        report_rollout(rollout, text)
        if describe_file is not None:
            write_description(rollout, describe_file, base, text)
        if push_remote is not None:
            push(root, push_remote, rollout.branch)
            text.write(f"pushed {rollout.branch} to {push_remote}\n")
        if fmt == "json":
            report.write(out, "apply", {**report.rollout(rollout), "pushed": push_remote})
        return EXIT_OK

    planned = planners[0](root)
    plan = planned.plan
    description = describe([Described(plan, planned.read)]) if describe_file else None
    written = apply_plan(root, plan, allow_dirty=allow_dirty) if plan.has_changes else []
    if describe_file is not None and description is not None:
        write_output(describe_file, description)
    if fmt == "json":
        data = {"target": plan.target, "phases": len(plan.commits), "files": report.files(written)}
        report.write(out, "apply", data)
    elif not plan.has_changes:
        out.write(f"nothing to do: {plan.target} is already reached\n")
    else:
        for change in written:
            mark = {"added": "A", "modified": "M", "deleted": "D"}[change.status]
            out.write(f"{mark} {change.path}\n")
        out.write(f"applied {len(plan.commits)} phase(s) of {plan.target} to the working tree\n")
    return EXIT_OK


run = common.holding_lock(_run)
