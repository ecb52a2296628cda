"""The description of one merge request of a stack: one phase, its gate, and what comes first.

Each branch of a stack (engine/output/stack.py) gets its own description: what this step
changes, its manual steps and gate, the precondition CI checks, the order ("merge only
after the merge request of the branch before is merged and its gate passed"), and how to
roll this step back. Built from the plan and the stack alone: same input, same text.
"""

from __future__ import annotations

from collections.abc import Mapping

from engine.output.describe import commit_section, release_changes, rollback_lines
from engine.output.render import code, note_checklist
from engine.output.stack import Stack, StackBranch
from engine.planning.planmodel import Commit
from engine.planning.preconditions import REQUIRES, conditions


def reference(branch: StackBranch, refs: Mapping[str, str]) -> str:
    """How a description names another step: its merge request once opened, else its branch."""
    opened = refs.get(branch.name)
    return opened if opened else f"the merge request of {code(branch.name)}"


def describe_step(
    stack: Stack, branch: StackBranch, *, target: str, refs: Mapping[str, str] | None = None
) -> str:
    """The Markdown description of `branch`'s merge request; `target` is the forge's name of
    the base branch (e.g. `main`)."""
    assert branch.commit is not None and branch.section is not None and branch.index is not None
    refs = refs or {}
    section = stack.sections[branch.section]
    plan = section.planned.plan
    commit = branch.commit
    total = max(b.number for b in stack.branches)
    previous = stack.previous(branch)
    nxt = next((b for b in stack.branches if b.number > branch.number), None)

    out = [f"# {branch.number:02d}/{total:02d} {commit.subject}", ""]
    if previous is None:
        out.append(
            f"**Step {branch.number} of the stacked rollout `{stack.prefix}/`.** Merge it into "
            f"{code(target)}, let Flux reconcile, and pass the gate below before merging the next "
            "step."
        )
    else:
        out += [
            f"**Merge only after {reference(previous, refs)} is merged and its gate passed.**",
            "",
            f"This merge request targets {code(previous.name)}, so it shows only this step. When "
            f"that branch is merged, retarget this one to {code(target)} if the forge did not.",
        ]
    if nxt is not None:
        out += ["", f"Next: {code(nxt.name)}."]
    out += ["", "## This step", ""]
    rels = release_changes(plan, section.planned.read)
    later = plan.commits[branch.index + 1 :]
    next_wave = next((c.wave for c in later if c.changes or c.notes), commit.wave)
    out += commit_section(
        branch.number, commit, branch.sha, rels[branch.index], next_wave != commit.wave
    )
    needs = conditions(commit.body, REQUIRES)
    if needs:
        out += ["", "## Precondition (checked by `waypath gate check`)", ""]
        out += [
            f"- HelmRelease {code(f'{c.namespace}/{c.name}')} ({code(c.path)}) is {c.state} in "
            "the cluster before this step is merged"
            for c in needs
        ]
        out += [
            "",
            "The check fails when this merge request would also merge the step that makes it so; "
            "with `--kubeconfig` it also asks the cluster.",
        ]
    manual = _manual_after(plan.commits, branch.index)
    if manual:
        out += ["", "## Manual-only steps after this one (no commit)", ""]
        for step in manual:
            out += [f"**{step.subject}**", "", *note_checklist(step.notes, unverified="**(unverified)**"), ""]
        out.pop()
    first_of_plan = all(
        b.section != branch.section or b.number >= branch.number for b in stack.made
    )
    if plan.unverified and first_of_plan:
        out += ["", "## Unverified facts", ""]
        out += ["The recipes rely on these; check them on a non-production cluster first.", ""]
        out.extend(f"- {fact}" for fact in dict.fromkeys(plan.unverified))
    out += ["", "## Rolling back", ""]
    out += rollback_lines(branch.number, commit, branch.sha, rels[branch.index])
    return "\n".join(out) + "\n"


def _manual_after(commits: list[Commit], index: int) -> list[Commit]:
    """The manual-only phases between this commit and the next one with changes."""
    found: list[Commit] = []
    for commit in commits[index + 1 :]:
        if commit.changes:
            break
        if commit.notes:
            found.append(commit)
    return found


def file_name(branch: StackBranch, prefix: str) -> str:
    """`03-suspend.md` for `<prefix>/03-suspend`."""
    return branch.name[len(prefix) + 1 :] + ".md"
