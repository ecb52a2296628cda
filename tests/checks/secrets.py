"""Check (e): no secret value from the fixture repo reaches anything the plan renders.

Canaries are every `CANARY...` token in the fixture's files (the fixtures plant them in
SOPS payloads, env files of secretGenerators, licence Secrets) and every value of a
Secret's `data`/`stringData` long enough not to be an ordinary word. A canary may stay in
a file the plan edits only as often as it was already there: the plan must never *write*
one, nor put one in a commit message, note, report, the plan JSON or plan.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from engine.output.render import render_json
from engine.planning.planmodel import Plan
from tests.checks.repostate import YAML_SUFFIXES, load_documents, walk

CANARY = re.compile(r"CANARY[A-Za-z0-9_-]*")
MIN_SECRET_LENGTH = 8  # shorter Secret values ("true", "linkerd") are not worth a canary


def canaries(tree: dict[str, bytes]) -> set[str]:
    found: set[str] = set()
    for path, data in tree.items():
        text = data.decode("utf-8", errors="replace")
        found.update(CANARY.findall(text))
        if not path.endswith(YAML_SUFFIXES) or "Secret" not in text:
            continue
        try:
            docs = load_documents(path, data)
        except ValueError:
            continue
        for doc in docs:
            if not isinstance(doc, dict) or doc.get("kind") != "Secret":
                continue
            for field in ("data", "stringData"):
                values = doc.get(field)
                if isinstance(values, dict):
                    found.update(
                        str(v) for v in values.values() if len(str(v)) >= MIN_SECRET_LENGTH
                    )
    return found


def _leaks(secrets: Iterable[str], text: str) -> list[str]:
    return sorted(s for s in secrets if s in text)


def check_plan(plan: Plan, initial: dict[str, bytes], rendered: dict[str, str]) -> list[str]:
    """`rendered`: the snapshot files of the scenario (plan.md, diffs) by name."""
    secrets = canaries(initial)
    problems: list[str] = []
    for step in walk(plan, initial):
        commit = step.commit
        where = f"commit {step.index + 1} ({commit.recipe}/{commit.phase})"
        texts = {
            "message": commit.message,
            "notes": "\n".join(
                f"{n.title}\n{n.text}\n{chr(10).join(n.commands)}" for n in commit.notes
            ),
            "reports": "\n".join(f"{r.path} {r.message}" for r in commit.reports),
            "gate": ""
            if commit.gate is None
            else "\n".join([commit.gate.wait, *commit.gate.check]),
        }
        for part, text in texts.items():
            problems.extend(f"{where}: {part} contains {s!r}" for s in _leaks(secrets, text))
        for change in step.written():
            assert change.content is not None
            new = change.content.decode("utf-8", errors="replace")
            old = step.before.get(change.path, b"").decode("utf-8", errors="replace")
            problems.extend(
                f"{where}: writes {s!r} into {change.path}"
                for s in _leaks(secrets, new)
                if new.count(s) > old.count(s)
            )
    json_text = render_json(_without_contents(plan))
    problems.extend(f"plan JSON contains {s!r}" for s in _leaks(secrets, json_text))
    for name, text in sorted(rendered.items()):
        if name.endswith(".diff"):
            # A changed line may carry a value that was already there: count, as above.
            lines = text.splitlines()
            added = "\n".join(line for line in lines if line.startswith("+"))
            removed = "\n".join(line for line in lines if line.startswith("-"))
            problems.extend(
                f"{name} adds {s!r}"
                for s in _leaks(secrets, added)
                if added.count(s) > removed.count(s)
            )
            continue
        problems.extend(f"{name} contains {s!r}" for s in _leaks(secrets, text))
    return problems


def _without_contents(plan: Plan) -> Plan:
    """The plan without file bytes: those are checked above, against what was there."""
    from copy import deepcopy

    copy = deepcopy(plan)
    for commit in copy.commits:
        for change in commit.changes:
            change.content = b"" if change.content is not None else None
    return copy
