"""The merge-request description: what a reviewer and the person merging need, in Markdown.

The path and why, each commit (what it changes, on which clusters, the manual steps as
copy-paste commands, the gate to pass before the next one), the gates between waves, the
unverified facts, and how to roll back. Built from plans alone (and, for the rollback
notes, the files the plan starts from): no clock, no git calls, same input, same text.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import yaml

from engine.output.render import code, fence, note_checklist, wave_gate
from engine.planning.planmodel import Commit, Plan

Reader = Callable[[str], bytes | None]
_LETTER = {"added": "A", "modified": "M", "deleted": "D"}
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class Described:
    """One plan to describe; `shas` once its commits exist (None: manual-only phase)."""

    plan: Plan
    read: Reader | None = None  # the files the plan starts from, for the rollback notes
    shas: list[str | None] | None = None
    # Per commit, Markdown lines with the `plan --verify` verdict (None: not verified).
    verified: list[list[str] | None] | None = None


@dataclass
class Releases:
    """What a commit does to HelmReleases (keys `namespace/name`)."""

    removed: list[str] = field(default_factory=list)
    removed_suspended: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    suspended: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)


def _helmreleases(data: bytes | None) -> dict[str, bool]:
    """`namespace/name` -> suspended, for every HelmRelease in a file's bytes."""
    found: dict[str, bool] = {}
    if not data:
        return found
    try:
        docs = list(yaml.load_all(data, Loader=_LOADER))
    except yaml.YAMLError:
        return found
    for doc in docs:
        if not isinstance(doc, dict) or doc.get("kind") != "HelmRelease":
            continue
        if not str(doc.get("apiVersion", "")).startswith("helm.toolkit.fluxcd.io/"):
            continue
        meta = doc.get("metadata")
        spec = doc.get("spec")
        meta = meta if isinstance(meta, dict) else {}
        spec = spec if isinstance(spec, dict) else {}
        key = f"{meta.get('namespace') or '-'}/{meta.get('name')}"
        found[key] = spec.get("suspend") is True
    return found


def release_changes(plan: Plan, read: Reader | None) -> list[Releases]:
    result: list[Releases] = []
    state: dict[str, bytes | None] = {}
    for commit in plan.commits:
        before: dict[str, bool] = {}
        after: dict[str, bool] = {}
        for change in commit.changes:
            if change.path in state:
                old = state[change.path]
            elif change.status == "added" or read is None:
                old = None
            else:
                old = read(change.path)
            before.update(_helmreleases(old))
            after.update(_helmreleases(change.content))
            state[change.path] = change.content
        rel = Releases()
        for key in sorted(before):
            if key not in after:
                rel.removed.append(key)
                if before[key]:
                    rel.removed_suspended.append(key)
            elif after[key] and not before[key]:
                rel.suspended.append(key)
            elif before[key] and not after[key]:
                rel.resumed.append(key)
        rel.added = sorted(k for k in after if k not in before)
        result.append(rel)
    return result


def _hr(key: str) -> str:
    namespace, _, name = key.partition("/")
    return f"HelmRelease {code(name)}" + (f" (namespace {code(namespace)})" if namespace != "-" else "")


def _names(key: str, message: str) -> bool:
    """Whether a safety report's message is about HelmRelease `key` (`namespace/name`)."""
    namespace, _, name = key.partition("/")
    label = f"{namespace}/{name}" if namespace != "-" else name
    return message.startswith(f"HelmRelease {label} (")


def _hrs(keys: Sequence[str]) -> str:
    return ", ".join(_hr(k) for k in keys)


def _it(keys: Sequence[str]) -> str:
    return "it" if len(keys) == 1 else "each of them"


def _ref(number: int, sha: str | None) -> str:
    return code(sha[:12]) if sha else f"commit {number}"


def _title(parts: Sequence[Described]) -> str:
    targets = ", ".join(p.plan.target.replace("@", " to ", 1) for p in parts)
    waves = sorted({c.wave for p in parts for c in p.plan.commits if c.wave})
    suffix = f" (wave {waves[0]})" if len(waves) == 1 else ""
    return f"# Upgrade {targets}{suffix}"


def _how_to_merge(branch: str | None, base: str | None) -> list[str]:
    into = base or "main"
    tip = "<sha>"
    return [
        "**Merge this branch one commit at a time.** In a GitOps repo each commit is a "
        "deployment: Flux reconciles what the branch it watches points at, so merging the "
        "whole branch at once would skip every gate below. For each commit in order, move "
        f"`{into}` to it, let Flux reconcile, and pass the commit's gate before the next:",
        "",
        *fence(
            f"git fetch origin\ngit push origin {tip}:{shlex.quote('refs/heads/' + into)}"
            "   # fast-forward to the next commit, after its review",
            "sh",
        ),
        "",
        "If the base branch only accepts merge requests, make one merge request per commit: "
        "`waypath apply --commit --stack` makes one branch per commit, each on the one before"
        + (f"; the commits are on `{branch}`." if branch else "."),
    ]


def _path_section(parts: Sequence[Described]) -> list[str]:
    out = ["## Path and why", ""]
    out += ["| Cluster | Wave | Now | Target | Path |", "|---|---|---|---|---|"]
    for part in parts:
        for inst in part.plan.instances:
            if inst.status == "current":
                path = "already there"
            elif inst.status == "ahead":
                path = "ahead of the target: left alone"
            else:
                path = " → ".join(code(r) for r in inst.path) or "no path"
            cells = [code(inst.instance), inst.wave or "", inst.version or "unknown", inst.target, path]
            out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    out.append("")
    for part in parts:
        for inst in part.plan.instances:
            if inst.explanation:
                out.append(f"- {code(inst.instance)}: " + "; ".join(inst.explanation) + ".")
    return out


def commit_section(
    number: int, commit: Commit, sha: str | None, rel: Releases, last_in_wave: bool
) -> list[str]:
    if commit.changes:
        head = f"### {number}. {commit.subject}" + (f" — {code(sha[:12])}" if sha else "")
    else:
        head = f"### {number}. Manual only (no commit): {commit.subject}"
    out = [head, ""]
    where = ", ".join(code(i) for i in commit.instances) or "the repo"
    origin = (
        f"Recipe {code(commit.recipe)}, phase {code(commit.phase)} "
        f"({commit.phase_number}/{commit.phase_count}), {commit.from_version} → "
        f"{commit.to_version}, on {where}."
    )
    out.append(origin)
    if commit.changes:
        out += ["", "What changes:", ""]
        out.extend(f"- `{_LETTER[c.status]}` {code(c.path)}" for c in commit.changes)
        if rel.added:
            out.append(f"- creates {_hrs(rel.added)}")
        uninstalled = [r for r in commit.reports if r.kind == "uninstall"]
        # One bullet per uninstall: the report below says it, marked; not again here.
        removed = [k for k in rel.removed if not any(_names(k, r.message) for r in uninstalled)]
        if removed:
            out.append(
                f"- removes {_hrs(removed)}"
                + (" (suspended first, so Flux orphans the release instead of uninstalling it)"
                   if set(removed) <= set(rel.removed_suspended) else "")
            )
        if rel.suspended:
            out.append(f"- suspends {_hrs(rel.suspended)}")
        if rel.resumed:
            out.append(f"- resumes {_hrs(rel.resumed)}")
        out.extend(f"- **Flux uninstalls this release:** {r.message}" for r in uninstalled)
        moved = [r for r in commit.reports if r.kind in ("values", "deleted")]
        out.extend(
            f"- {r.message}" + (f" ({code(r.path)})" if r.path else "") for r in moved
        )
    else:
        out += ["", "*No file changes: nothing to merge, only the manual steps below.*"]
    if commit.notes:
        out += ["", "Manual steps:", ""]
        out += note_checklist(commit.notes, unverified="**(unverified)**")
    if commit.gate:
        lead = "Before the next wave" if last_in_wave else "Gate before the next commit"
        out += ["", f"**{lead}:** {commit.gate.wait}"]
        if commit.gate.check:
            out += ["", *fence("\n".join(commit.gate.check), "sh")]
    return out


def rollback_lines(number: int, commit: Commit, sha: str | None, rel: Releases) -> list[str]:
    ref = _ref(number, sha)
    lines = [f"- {ref} {commit.subject}: `git revert --no-edit {sha[:12] if sha else '<sha>'}`"]
    if rel.added:
        lines.append(
            f"  - the revert deletes {_hrs(rel.added)}: Flux prunes "
            f"{_it(rel.added)} and Helm uninstalls the release (with every object it owns, "
            f"CRDs included). Commit `spec.suspend: true` on {_it(rel.added)} first and wait "
            "until `flux get helmreleases` shows it suspended, so the deletion orphans the "
            "release instead."
        )
    if rel.removed_suspended:
        lines.append(
            f"  - the revert brings back {_hrs(rel.removed_suspended)} with `suspend: true`, as "
            "it was when this commit removed it. Keep the suspend: resuming it before its "
            "objects are handed back to its release (re-annotate them, the reverse of this "
            "commit's adoption step) makes Helm fight the new releases or reinstall. Revert the "
            "earlier suspend commit only after that."
        )
    elif rel.removed:
        lines.append(
            f"  - the revert re-creates {_hrs(rel.removed)}; Helm installs or adopts their "
            "releases again."
        )
    if rel.suspended:
        lines.append(
            f"  - the revert resumes {_hrs(rel.suspended)}: do it only after the later commits "
            "are reverted and `helm history` shows the release still exists, or Flux installs "
            "it afresh."
        )
    if rel.resumed:
        lines.append(f"  - the revert suspends {_hrs(rel.resumed)} again.")
    if commit.notes:
        lines.append(
            "  - a revert does not undo the manual steps: "
            + "; ".join(n.title for n in commit.notes)
            + "."
        )
    return lines


def describe(
    parts: Sequence[Described],
    *,
    branch: str | None = None,
    base: str | None = None,
    previous: Sequence[tuple[str, str]] = (),
) -> str:
    """The Markdown description of the merge request for `parts` (one per component)."""
    out = [_title(parts), ""]
    recipes = [r for p in parts for r in p.plan.path]
    made = [c for p in parts for c in p.plan.commits if c.changes]
    manual = [c for p in parts for c in p.plan.commits if not c.changes and c.notes]
    if not made and not previous:
        out += ["Nothing to do: every cluster is already at its target.", ""]
    else:
        summary = f"Waypath generated {len(made)} commit(s)"
        if recipes:
            summary += " from the recipe path " + " → ".join(code(r) for r in recipes)
        if manual:
            summary += f", plus {len(manual)} manual-only step(s) without a commit"
        out += [summary + ".", ""]
        out += [*_how_to_merge(branch, base), ""]
    if previous:
        out += ["Already on this branch from an earlier run:", ""]
        out.extend(f"- {code(sha[:12])} {subject}" for sha, subject in previous)
        out.append("")
    out += _path_section(parts)

    number = 0
    rollback: list[list[str]] = []
    shown = [p for p in parts if any(c.changes or c.notes for c in p.plan.commits)]
    if shown:
        out += ["", "## Commits, manual steps and gates"]
    for part in shown:
        plan = part.plan
        rels = release_changes(plan, part.read)
        commits = [(i, c) for i, c in enumerate(plan.commits) if c.changes or c.notes]
        for pos, (index, commit) in enumerate(commits):
            if commit.wave and (pos == 0 or commits[pos - 1][1].wave != commit.wave):
                scopes = [i.instance for i in plan.instances if i.wave == commit.wave]
                out += ["", f"## Wave {commit.wave}: " + ", ".join(code(s) for s in scopes)]
            number += 1
            sha = part.shas[index] if part.shas is not None else None
            nxt = commits[pos + 1][1] if pos + 1 < len(commits) else None
            last_in_wave = nxt is not None and nxt.wave != commit.wave
            out += ["", *commit_section(number, commit, sha, rels[index], last_in_wave)]
            checked = part.verified[index] if part.verified is not None else None
            if checked:
                out += ["", *checked]
            if nxt is not None and commit.wave and nxt.wave and nxt.wave != commit.wave:
                out += ["", f"> **{wave_gate(plan, commit.wave, nxt.wave)}**"]
            if commit.changes:
                rollback.append(rollback_lines(number, commit, sha, rels[index]))

    facts = [f for p in parts for f in p.plan.unverified]
    # A flagged note is one fact however many commits (waves, clusters) repeat it: listed once,
    # with the commits that carry it.
    flagged: dict[str, list[str]] = {}
    for p in parts:
        for c in p.plan.commits:
            for n in c.notes:
                if n.unverified and c.subject not in flagged.setdefault(n.title, []):
                    flagged[n.title].append(c.subject)
    if facts or flagged:
        out += ["", "## Unverified facts", ""]
        out += [
            "The recipes rely on these; check them on a non-production cluster first.",
            "",
        ]
        out.extend(f"- {fact}" for fact in dict.fromkeys(facts))
        out.extend(
            f"- {title} (in " + ", ".join(f"“{s}”" for s in subjects) + ")"
            for title, subjects in flagged.items()
        )

    if rollback:
        out += ["", "## Rolling back", ""]
        out += [
            "Revert newest first, one commit at a time, and let Flux reconcile each revert "
            "before the next: a revert is a deployment too. Helm rolls a release back by "
            "upgrading it to the previous chart and values; it does not downgrade CRDs that a "
            "newer chart changed, so read the commit's notes before reverting a CRD upgrade. "
            "Reverting a commit that was never merged is not needed: drop it from the branch.",
            "",
        ]
        for lines in reversed(rollback):
            out.extend(lines)
    return "\n".join(out) + "\n"
