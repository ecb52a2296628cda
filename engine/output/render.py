"""Render a plan for people and machines: text, unified diffs, Markdown, JSON.

Pure functions of the plan (invariant 2: same plan, same bytes): no clock, no
filesystem, no absolute paths — only what the plan holds.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable

from engine.planning.planmodel import Commit, InstancePlan, Note, Plan, ReportItem
from engine.repo.flux.model import where

_LETTER = {"added": "A", "modified": "M", "deleted": "D"}
NOTHING_TO_DO = "Nothing to do: every instance is already at the target."
NO_COMMIT = "(no file changes: manual steps only, no git commit)"


# -- diffs -----------------------------------------------------------------------------------


def _lines(text: str) -> list[str]:
    # Split on "\n" only, as git does (str.splitlines also splits on \r, \x0c, \u2028...).
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def unified_diff(path: str, old: bytes | None, new: bytes | None) -> str:
    """A git-style unified diff of one file (3 lines of context); "" if nothing changed."""
    if old == new:
        return ""
    old_name = "/dev/null" if old is None else f"a/{path}"
    new_name = "/dev/null" if new is None else f"b/{path}"
    try:
        old_text = (old or b"").decode("utf-8")
        new_text = (new or b"").decode("utf-8")
    except UnicodeDecodeError:
        return f"Binary files {old_name} and {new_name} differ\n"
    out = [f"--- {old_name}\n", f"+++ {new_name}\n"]
    body = difflib.unified_diff(_lines(old_text), _lines(new_text), n=3)
    for line in list(body)[2:]:  # difflib's own two header lines
        out.append(line if line.endswith("\n") else f"{line}\n\\ No newline at end of file\n")
    return "".join(out)


def commit_diffs(plan: Plan, old_contents: Callable[[str], bytes | None]) -> list[str]:
    """One diff text per commit; "old" is the repo as the commits before it left it."""
    state: dict[str, bytes | None] = {}
    diffs: list[str] = []
    for commit in plan.commits:
        parts: list[str] = []
        for change in sorted(commit.changes, key=lambda c: c.path):
            old = state[change.path] if change.path in state else old_contents(change.path)
            parts.append(unified_diff(change.path, old, change.content))
            state[change.path] = change.content
        diffs.append("".join(parts))
    return diffs


# -- text ------------------------------------------------------------------------------------


def _instance_summary(inst: InstancePlan) -> str:
    if inst.status == "current":
        return f"already at {inst.version or inst.target}"
    if inst.status == "ahead":
        return f"at {inst.version}, ahead of {inst.target}"
    version = inst.version or "unknown version"
    if not inst.path:
        return f"{version} -> {inst.target}: no path"
    return f"{version} -> {inst.target} via {' -> '.join(inst.path)}"


def _report_line(report: ReportItem) -> str:
    where = f"{report.path}: " if report.path else ""
    return f"[{report.kind}] {where}{report.message}"


def _commit_origin(commit: Commit) -> str:
    origin = (
        f"recipe {commit.recipe}, phase {commit.phase} ({commit.phase_number}/{commit.phase_count})"
    )
    if commit.wave:
        origin += f", wave {commit.wave}"
    return origin


def _shown_commits(plan: Plan) -> list[tuple[int, Commit]]:
    """(index in plan.commits, commit) of the commits worth showing: files or notes."""
    return [(i, c) for i, c in enumerate(plan.commits) if c.changes or c.notes]


def wave_gate(plan: Plan, done: str, nxt: str) -> str:
    """The gate between two waves of a rollout."""
    scopes = ", ".join(i.instance for i in plan.instances if i.wave == done) or "its clusters"
    return (
        f"Validate wave {done} before wave {nxt}: every gate above has passed on {scopes}, "
        "`flux get kustomizations -A` and `flux get helmreleases -A` are Ready there, and the "
        f"workloads are healthy. Only then merge the first commit of wave {nxt}."
    )


def _wave_breaks(shown: list[tuple[int, Commit]]) -> bool:
    """Show wave headings only when the commits span more than one wave."""
    return len({c.wave for _, c in shown if c.wave}) > 1


def render_text(plan: Plan) -> str:
    """The terminal summary of a plan."""
    out = [f"Target: {plan.target}"]
    if plan.path:
        out.append(f"Path: {' -> '.join(plan.path)}")
    out += ["", "Instances:"]
    if not plan.instances:
        out.append("  (none found)")
    for inst in plan.instances:
        wave = f" [wave {inst.wave}]" if inst.wave else ""
        out.append(f"  {inst.component} {inst.instance}{wave}: {_instance_summary(inst)}")
        if inst.clusters:
            out.append(f"    {where(inst.clusters)}")
        out.extend(f"    {line}" for line in inst.explanation)
    shown = _shown_commits(plan)
    if shown:
        out += ["", "Commits:"]
    waves = _wave_breaks(shown)
    for number, (_, commit) in enumerate(shown, 1):
        before = shown[number - 2][1] if number > 1 else None
        if waves and commit.wave and (before is None or before.wave != commit.wave):
            if before is not None and before.wave:
                out.append(f"  == gate: {wave_gate(plan, before.wave, commit.wave)}")
            out.append(f"  == wave {commit.wave}")
        out.append(f"  {number}. {commit.subject}")
        out.append(f"     {_commit_origin(commit)}")
        if commit.instances:
            out.append(f"     instances: {', '.join(commit.instances)}")
        out.extend(f"     {_LETTER[c.status]} {c.path}" for c in commit.changes)
        if not commit.changes:
            out.append(f"     {NO_COMMIT}")
        for note in commit.notes:
            flag = " (UNVERIFIED)" if note.unverified else ""
            out.append(f"     note{flag}: {note.title}")
            out.extend(f"       {line}" for line in note.text.splitlines())
            out.extend(command_lines(note.commands, "       "))
        if commit.gate:
            out.append(f"     gate: {commit.gate.wait}")
            out.extend(command_lines(commit.gate.check, "       "))
        out.extend(f"     {_report_line(r)}" for r in commit.reports)
    if plan.reports:
        out += ["", "Reports:"]
        out.extend(f"  {_report_line(r)}" for r in plan.reports)
    if plan.unverified:
        out += ["", "Unverified facts:"]
        out.extend(f"  - {fact}" for fact in plan.unverified)
    out.append("")
    if plan.has_changes:
        commits = sum(1 for c in plan.commits if c.changes)
        files = len({c.path for commit in plan.commits for c in commit.changes})
        out.append(f"Planned: {commits} commit(s), {files} file(s).")
    else:
        out.append(NOTHING_TO_DO)
    return "\n".join(out) + "\n"


# -- Markdown --------------------------------------------------------------------------------


def note_checklist(notes: list[Note], *, unverified: str) -> list[str]:
    """Manual steps as a Markdown checklist: title, explanation, commands in a sh fence."""
    out: list[str] = []
    for note in notes:
        flag = f" {unverified}" if note.unverified else ""
        out.append(f"- [ ] {note.title}{flag}")
        if note.text:
            out += ["", *(f"  {line}" if line else "" for line in note.text.splitlines())]
        if note.commands:
            out += [
                "",
                *(f"  {line}" if line else "" for line in fence("\n".join(note.commands), "sh")),
            ]
    return out


def command_lines(commands: list[str], indent: str) -> list[str]:
    """`$ command` lines; a multi-line command keeps its later lines under the first."""
    lines = []
    for command in commands:
        first, *rest = command.rstrip("\n").split("\n")
        lines.append(f"{indent}$ {first}")
        lines.extend(f"{indent}  {line}" for line in rest)
    return lines


def fence(text: str, lang: str) -> list[str]:
    """A code fence longer than any backtick run inside `text`."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    # One list item per line, so a caller that indents lines indents every one of them.
    return [f"{fence}{lang}", *text.rstrip("\n").split("\n"), fence]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def code(text: str) -> str:
    return f"`{text}`" if "`" not in text else f"`` {text} ``"


def _instances_table(plan: Plan) -> list[str]:
    clusters = any(inst.clusters for inst in plan.instances)  # a Flux repo: name them
    head = [
        "Component",
        "Folder",
        *(["Clusters"] if clusters else []),
        "Wave",
        "From",
        "To",
        "Path",
    ]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for inst in plan.instances:
        if inst.status == "current":
            path = f"already at {inst.version or inst.target}"
        elif inst.status == "ahead":
            path = "ahead of the target"
        else:
            path = " → ".join(code(r) for r in inst.path) or "no path"
        cells = [
            inst.component,
            code(inst.instance),
            *([where(inst.clusters) if inst.clusters else ""] if clusters else []),
            inst.wave or "",
            inst.version or "unknown",
            inst.target,
            path,
        ]
        out.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return out


def _report_md(report: ReportItem) -> str:
    where = f"{code(report.path)}: " if report.path else ""
    return f"**{report.kind}** {where}{report.message}"


def _commit_md(number: int, commit: Commit, is_last: bool, diff: str | None) -> list[str]:
    origin = _commit_origin(commit)
    out = [f"### {number}. {commit.subject}", "", f"{origin[0].upper()}{origin[1:]}."]
    if commit.instances:
        out.append("Instances: " + ", ".join(code(i) for i in commit.instances) + ".")
    if commit.body:
        out += ["", *fence(commit.body, "text")]
    if commit.changes:
        out += ["", "**Files**", ""]
        out.extend(f"- `{_LETTER[c.status]}` {code(c.path)}" for c in commit.changes)
    else:
        out += ["", f"*{NO_COMMIT}*"]
    if commit.notes:
        out += ["", "**Manual steps**", ""]
        out += note_checklist(commit.notes, unverified="*(unverified)*")
    if commit.gate:
        lead = "After merging, wait for" if is_last else "Before merging the next commit"
        out += ["", f"**{lead}:** {commit.gate.wait}"]
        if commit.gate.check:
            out += ["", *fence("\n".join(commit.gate.check), "sh")]
    if commit.reports:
        out += ["", "**Reports**", ""]
        out.extend(f"- {_report_md(r)}" for r in commit.reports)
    if diff:
        out += ["", "<details><summary>Diff</summary>", "", *fence(diff, "diff"), "", "</details>"]
    return out


def render_markdown(plan: Plan, diffs: list[str] | None = None) -> str:
    """The plan as Markdown: a merge request description, or a reviewable `plan.md`.

    `diffs`, if given, holds one diff per commit of the plan (see `commit_diffs`).
    """
    out = [f"# Waypath plan: {plan.target}", ""]
    if plan.path:
        out += ["**Path:** " + " → ".join(code(r) for r in plan.path), ""]
    if not plan.has_changes:
        out += [f"**{NOTHING_TO_DO}**", ""]
    out += ["## Instances", ""]
    out += _instances_table(plan) if plan.instances else ["No instances found."]
    explained = [i for i in plan.instances if i.explanation]
    if explained:
        out.append("")
        out.extend(f"- {code(i.instance)}: " + "; ".join(i.explanation) for i in explained)
    shown = _shown_commits(plan)
    if shown:
        out += ["", "## Commits"]
    waves = _wave_breaks(shown)
    for number, (index, commit) in enumerate(shown, 1):
        before = shown[number - 2][1] if number > 1 else None
        if waves and commit.wave and (before is None or before.wave != commit.wave):
            if before is not None and before.wave:
                out += ["", f"> **Gate: {wave_gate(plan, before.wave, commit.wave)}**"]
            out += ["", f"### Wave {commit.wave}"]
        diff = diffs[index] if diffs is not None and index < len(diffs) else None
        out += ["", *_commit_md(number, commit, number == len(shown), diff)]
    if plan.reports:
        out += ["", "## Reports", ""]
        out.extend(f"- {_report_md(r)}" for r in plan.reports)
    if plan.unverified:
        out += ["", "## Unverified facts", ""]
        out.extend(f"- {fact}" for fact in plan.unverified)
    return "\n".join(out) + "\n"


# -- JSON ------------------------------------------------------------------------------------


def render_json(plan: Plan) -> str:
    return json.dumps(plan.to_json(), indent=2, sort_keys=False) + "\n"
