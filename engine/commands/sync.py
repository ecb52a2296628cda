"""`waypath sync`: reconcile the repo toward waypath.yaml (the Renovate hand-off)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from engine.commands import common, report, stacked
from engine.commands.apply import inside, report_rollout, write_description
from engine.error_handler import EXIT_OK
from engine.errors import UsageError
from engine.output.describe import Described, describe
from engine.output.outfile import check_output, write_output
from engine.output.renovate import DATA_FILE_ENV, read_data_file
from engine.output.rollout import Planned, push
from engine.output.sync import sync


def _run(
    *,
    repo: Path,
    recipe_dirs: Sequence[Path],
    params: Mapping[str, str],
    assume: Mapping[str, str],
    no_commit: bool,
    allow_dirty: bool,
    wave: str | None,
    describe_file: Path | None,
    branch: str | None,
    base: str | None,
    author: str | None,
    push_remote: str | None,
    force_branch: bool,
    out: TextIO,
    environ: Mapping[str, str] | None = None,
    fmt: str = "text",
    stack: bool = False,
    open_forge: str | None = None,
) -> int:
    text, json_out = report.text_sink(out, fmt), out
    out = text
    if no_commit and (branch or author or push_remote or force_branch or base or stack):
        raise UsageError(
            "--branch, --base, --author, --push, --force-branch and --stack make commits"
        )
    stacked.check_options(
        stack=stack, describe_file=describe_file, open_forge=open_forge, push_remote=push_remote
    )
    if describe_file is not None and not stack:  # checked before any change, written last
        describe_file = check_output(describe_file, "--describe", repo)
    env = os.environ if environ is None else environ
    upgrades = None
    if env.get(DATA_FILE_ENV):
        upgrades = read_data_file(Path(env[DATA_FILE_ENV]))
        for up in upgrades:
            out.write(
                f"renovate: {up.dep_name} {up.current_version} -> {up.new_version} "
                f"({up.package_file})\n"
            )
    root = repo.resolve()
    result = sync(
        root,
        common.library(recipe_dirs),
        upgrades=upgrades,
        commit=not no_commit,
        branch=branch,
        base=base,
        wave=wave,
        params=params,
        assume=assume,
        allow_dirty=allow_dirty,
        force_branch=force_branch,
        author=author,
        tolerate=stacked.tolerated(root, describe_file) if stack else inside(root, describe_file),
        stack=stack,
    )
    data: dict[str, Any] = {
        "components": result.components,
        "upgrades": [
            {"depName": u.dep_name, "currentVersion": u.current_version,
             "newVersion": u.new_version, "packageFile": u.package_file}
            for u in upgrades or []
        ],
    }  # fmt: skip
    if not result.components:
        out.write("nothing to do: Renovate bumped no component Waypath knows\n")
    elif result.stack is not None:
        opened = stacked.finish_stack(
            root,
            result.stack,
            describe_dir=describe_file,
            push_remote=push_remote,
            open_forge=open_forge,
            out=out,
        )
        data.update(stacked.as_json(result.stack, opened, push_remote))
    elif result.rollout is not None:
        report_rollout(result.rollout, out)
        if describe_file is not None:
            write_description(result.rollout, describe_file, base, out)
        if push_remote is not None:
            push(root, push_remote, result.rollout.branch)
            out.write(f"pushed {result.rollout.branch} to {push_remote}\n")
        data.update(report.rollout(result.rollout), pushed=push_remote)
    else:
        _report_written(result.written, describe_file, out)
        data["written"] = [
            {
                "target": p.plan.target,
                "files": report.files(c for m in p.plan.commits for c in m.changes),
            }
            for p in result.written
        ]
    if fmt == "json":
        report.write(json_out, "sync", data)
    return EXIT_OK


def _report_written(written: list[Planned], describe_file: Path | None, out: TextIO) -> None:
    for planned in written:
        plan = planned.plan
        if plan.has_changes:
            for commit in plan.commits:
                for change in commit.changes:
                    mark = {"added": "A", "modified": "M", "deleted": "D"}[change.status]
                    out.write(f"{mark} {change.path}\n")
            out.write(f"wrote {plan.target} to the working tree (not committed)\n")
        else:
            out.write(f"nothing to do: {plan.target} is already reached\n")
    if describe_file is not None:
        parts = [Described(p.plan, p.read) for p in written]
        write_output(describe_file, describe(parts))
        out.write(f"merge request description written to {describe_file}\n")


run = common.holding_lock(_run)
