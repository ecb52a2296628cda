"""`waypath apply`: write a plan (made now, or read from plan.json) to the working tree."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

from engine.apply import apply_plan
from engine.commands import plan as plan_command
from engine.error_handler import EXIT_OK
from engine.errors import PlanError, UsageError
from engine.planmodel import Plan


def load_plan(path: Path) -> Plan:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PlanError(
            f"cannot read the plan {path}: {exc}",
            hint="make one with `waypath plan --format json --out plan.json`",
        ) from exc
    return Plan.from_json(raw)


def run(
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
) -> int:
    if (target is None) == (plan_file is None):
        raise UsageError(
            "give either --to COMPONENT@RELEASE or a PLAN.json file",
            hint="`waypath apply --to linkerd@enterprise-2.16` or `waypath apply plan.json`",
        )
    if plan_file is not None:
        plan = load_plan(plan_file)
    else:
        assert target is not None
        _, plan = plan_command.build(
            repo=repo,
            target=target,
            recipe_dirs=recipe_dirs,
            params=params,
            assume=assume,
            via=via,
            allow_unsupported=allow_unsupported,
        )
    if not plan.has_changes:
        out.write(f"nothing to do: {plan.target} is already reached\n")
        return EXIT_OK
    written = apply_plan(repo.resolve(), plan, allow_dirty=allow_dirty)
    for change in written:
        mark = {"added": "A", "modified": "M", "deleted": "D"}[change.status]
        out.write(f"{mark} {change.path}\n")
    out.write(f"applied {len(plan.commits)} phase(s) of {plan.target} to the working tree\n")
    return EXIT_OK
