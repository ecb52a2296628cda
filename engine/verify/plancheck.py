"""`plan --verify`: verify the state after every commit of a plan, in memory.

Each commit's tree is the repo's files with the plan's changes up to that commit layered
on top (tree.Tree); only the files a build reads are copied to a temp dir, and builds and
renders are cached by content across commits, so a commit re-checks only what it changed.
The repo is never written.

A commit of a wave is also checked for leaks (leaks.py): the clusters whose rendered
output it changes must be clusters of its wave. The state before the plan is verified
first for that comparison (its builds are cached like every other state's).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.planning.planmodel import Plan
from engine.verify.cache import VerifyCache
from engine.verify.leaks import check_wave, wave_clusters
from engine.verify.options import VerifyOptions
from engine.verify.report import VerifyReport
from engine.verify.tree import Tree
from engine.verify.verifier import verify_tree


@dataclass(frozen=True)
class CommitVerdict:
    number: int  # 1-based, as the plan shows commits
    subject: str
    report: VerifyReport | None  # None: a manual-only step, no new state to check


def verify_plan(
    start: Tree, plan: Plan, options: VerifyOptions, cache: VerifyCache | None = None
) -> list[CommitVerdict]:
    cache = cache if cache is not None else VerifyCache()
    verdicts: list[CommitVerdict] = []
    tree = start
    before: VerifyReport | None = None
    for number, commit in enumerate(plan.commits, 1):
        if not commit.changes:
            verdicts.append(CommitVerdict(number, commit.subject, None))
            continue
        allowed = wave_clusters(plan, commit)
        if allowed is not None and before is None:
            before = verify_tree(tree, options, cache)
        tree = tree.layered({c.path: c.content for c in commit.changes})
        report = verify_tree(tree, options, cache)
        if allowed is not None and before is not None and commit.wave is not None:
            changed = [c.path for c in commit.changes]
            for result in check_wave(commit.wave, allowed, before.outputs, report.outputs, changed):
                report.add(result)
        verdicts.append(CommitVerdict(number, commit.subject, report))
        before = report
    return verdicts


def all_ok(verdicts: list[CommitVerdict]) -> bool:
    return all(v.report is None or v.report.ok for v in verdicts)


def to_json(verdicts: list[CommitVerdict]) -> list[dict[str, Any]]:
    return [
        {
            "commit": v.number,
            "subject": v.subject,
            **(v.report.to_json() if v.report else {"verdict": "no changes"}),
        }
        for v in verdicts
    ]


def text_lines(verdicts: list[CommitVerdict]) -> list[str]:
    lines = ["Verification (waypath verify on the state after each commit):"]
    for v in verdicts:
        if v.report is None:
            continue
        lines.append(f"  {v.number}. {v.subject}: {v.report.verdict}")
        for r in v.report.failures:
            lines.append(
                f"       {r.path}: {r.check} of {r.subject}: {r.message.splitlines()[0] if r.message else ''}"
            )
    return lines


def markdown_lines(report: VerifyReport) -> list[str]:
    """The verdict of one commit for the merge request description."""
    counts = report.counts()
    done = ", ".join(
        f"{check} {c.get('pass', 0)}/{sum(c.values())}" for check, c in counts.items() if c
    )
    out = [
        "**Verified** (`waypath verify`: kustomize build, Flux schemas, references, "
        f"duplicates, helm template, waves): {report.verdict}"
        + (f" — {done}" if done else "")
    ]
    for r in report.failures:
        first = r.message.splitlines()[0] if r.message else ""
        out.append(f"- ❌ `{r.path}`: {r.check} of {r.subject}: {first}")
    reasons = sorted({f"{r.check}: {r.message}" for r in report.skipped})
    out.extend(f"- skipped: {reason}" for reason in reasons)
    return out
