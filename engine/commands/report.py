"""`--format json` of detect, apply, sync, verify and recipe lint: one JSON document on stdout.

The text output is for people; these documents are for programs. Each carries
`format_version` (bumped on an incompatible change) and `command`. Errors stay text on
stderr with the usual exit codes, whatever the format.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:  # annotations only: `waypath detect` need not import the planner
    from engine.output.rollout import Rollout
    from engine.planning.planmodel import FileChange

REPORT_FORMAT_VERSION = 1


def text_sink(out: TextIO, fmt: str) -> TextIO:
    """Where the text lines go: `out`, or nowhere when the run reports JSON."""
    return out if fmt == "text" else io.StringIO()


def write(out: TextIO, command: str, data: dict[str, Any]) -> None:
    document = {"format_version": REPORT_FORMAT_VERSION, "command": command, **data}
    out.write(json.dumps(document, indent=2) + "\n")


def files(changes: Iterable[FileChange]) -> list[dict[str, str]]:
    return [{"path": c.path, "status": c.status} for c in changes]


def rollout(done: Rollout) -> dict[str, Any]:
    commits = []
    for section in done.sections:
        plan = section.planned.plan
        for commit, sha in zip(plan.commits, section.shas, strict=True):
            commits.append(
                {
                    "target": plan.target,
                    "sha": sha,  # null: a manual-only phase, listed but not committed
                    "subject": commit.subject,
                    "recipe": commit.recipe,
                    "phase": commit.phase,
                    "files": files(commit.changes),
                }
            )
    return {"branch": done.branch, "created": done.created, "made": done.made, "commits": commits}
