"""Recipe-local cases: a small repo before, the arguments, and the expected result.

```
recipes/<component>/tests/<case>/
  case.yaml        target (COMPONENT@RELEASE), and optionally params, assume, via,
                   allow_unsupported, and `recipes:` (ids the case is about; default: the
                   recipes on its planned path)
  before/          the repo tree the case starts from
  expected/
    plan.txt       `waypath plan` text output (path, commits, manual steps, reports)
    tree/          the whole repo tree after applying the plan
```

A case plans and applies in a temp copy of `before/`, compares the plan text and the tree
with `expected/`, and plans again on the result: the second plan must change nothing
(invariant 3). `--update` rewrites `expected/` from what the recipes produce now.
"""

from __future__ import annotations

import difflib
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from engine.errors import Location, Problem, RecipeError, WaypathError
from engine.output.apply import apply_plan
from engine.output.render import render_text
from engine.planning.planner import PlanRequest, make_plan
from engine.recipe.confine import escapes, symlinks
from engine.recipe.loading import Library, load_yaml_model
from engine.repo.workspace import Workspace


class CaseFile(BaseModel):
    """`tests/<case>/case.yaml`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    target: str = Field(description="COMPONENT@RELEASE, as `waypath plan --to`.")
    description: str = ""
    params: dict[str, str] = Field(default_factory=dict)
    assume: dict[str, str] = Field(default_factory=dict)
    via: list[str] = Field(default_factory=list)
    allow_unsupported: bool = False
    recipes: list[str] = Field(default_factory=list)


@dataclass
class Case:
    folder: Path
    spec: CaseFile

    @property
    def name(self) -> str:
        return f"{self.folder.parent.parent.name}/{self.folder.name}"

    def request(self) -> PlanRequest:
        return PlanRequest(
            target=self.spec.target,
            params=self.spec.params,
            assume=self.spec.assume,
            via=self.spec.via,
            allow_unsupported=self.spec.allow_unsupported,
        )


@dataclass
class CaseResult:
    case: Case
    recipes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # readable diffs and messages
    updated: bool = False

    @property
    def ok(self) -> bool:
        return not self.failures


def find_cases(component_folders: Sequence[Path]) -> list[Case]:
    cases = []
    for folder in component_folders:
        for case_file in sorted((folder / "tests").glob("*/case.yaml")):
            check_case_links(case_file.parent)
            cases.append(Case(case_file.parent, load_yaml_model(case_file, CaseFile)))
    return cases


def _case_link_problem(link: Path, case: Path) -> str | None:
    before, expected = case / "before", case / "expected"
    if link == expected or link.is_relative_to(expected):
        return "is a symlink below expected/, which `recipe test --update` rewrites"
    if link == before:
        return "is a symlink: before/ is the repo tree itself"
    if link.is_relative_to(before):
        if os.path.isabs(os.readlink(link)):
            return "is an absolute symlink: a repo's symlinks are relative, as in a checkout"
        return escapes(link, before)
    return escapes(link, case)


def check_case_links(case: Path) -> None:
    """Refuse a case whose symlinks `recipe test` could follow out of it (engine/recipe/confine.py)."""
    problems = []
    for link in symlinks(case):
        why = _case_link_problem(link, case)
        if why is not None:
            problems.append(Problem(why, Location(str(link))))
    if problems:
        raise RecipeError(
            f"recipe case {case} has symlinks `recipe test` will not follow",
            problems=problems,
            hint="in a case, expected/ holds no symlinks and a symlink in before/ is relative "
            "and stays inside before/ (docs/authoring.md, 'Recipe cases')",
        )


def read_tree(root: Path) -> dict[str, bytes]:
    if not root.is_dir():
        return {}
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


def _diff(name: str, old: bytes | None, new: bytes | None) -> str:
    def lines(data: bytes | None) -> list[str]:
        return [] if data is None else data.decode("utf-8", "replace").splitlines(keepends=True)

    body = difflib.unified_diff(
        lines(old),
        lines(new),
        fromfile=f"expected/{name}" if old is not None else "/dev/null",
        tofile=f"actual/{name}" if new is not None else "/dev/null",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in body)


def _tree_diffs(expected: dict[str, bytes], actual: dict[str, bytes]) -> Iterator[str]:
    for path in sorted(set(expected) | set(actual)):
        if expected.get(path) != actual.get(path):
            yield _diff(f"tree/{path}", expected.get(path), actual.get(path))


def _why(exc: BaseException) -> str:
    if isinstance(exc, shutil.Error) and exc.args and isinstance(exc.args[0], list):
        return "; ".join(str(item[-1]) for item in exc.args[0][:3])
    return str(exc)


def _plan_case(case: Case, library: Library, work: Path) -> tuple[str, list[str], Any]:
    plan = make_plan(Workspace(work), library, case.request())
    apply_plan(work, plan, allow_dirty=True)
    again = make_plan(Workspace(work), library, case.request())
    return render_text(plan), plan.path, again


def run_case(case: Case, library: Library, *, update: bool = False) -> CaseResult:
    result = CaseResult(case)
    before = case.folder / "before"
    if not before.is_dir():
        result.failures.append(f"{case.folder}/before/ is missing: the repo tree to start from")
        return result
    with tempfile.TemporaryDirectory(prefix="waypath-case-") as temp:
        work = Path(temp) / "repo"
        try:
            shutil.copytree(before, work, symlinks=True)  # as a checkout has them
        except (shutil.Error, OSError) as exc:  # a FIFO, socket or unreadable file in it
            result.failures.append(f"{before}/ cannot be copied as a repo tree: {_why(exc)}")
            return result
        try:
            text, path, again = _plan_case(case, library, work)
        except WaypathError as exc:
            result.failures.append(f"planning failed:\n{exc.render()}")
            return result
        result.recipes = list(path)
        if again.has_changes:
            subjects = "\n".join(f"  - {c.subject}" for c in again.commits if c.changes)
            result.failures.append(
                "planning again after applying still changes files (not idempotent):\n" + subjects
            )
        actual_tree = read_tree(work)
    expected_dir = case.folder / "expected"
    if update:
        _write_expected(expected_dir, text, actual_tree)
        result.updated = True
        return result
    expected_text = (
        (expected_dir / "plan.txt").read_bytes() if (expected_dir / "plan.txt").is_file() else None
    )
    if expected_text != text.encode("utf-8"):
        result.failures.append(_diff("plan.txt", expected_text, text.encode("utf-8")))
    result.failures.extend(_tree_diffs(read_tree(expected_dir / "tree"), actual_tree))
    return result


def _write_expected(folder: Path, text: str, tree: dict[str, bytes]) -> None:
    check_case_links(folder.parent)  # never write or delete through a link
    if (folder / "tree").is_dir():
        shutil.rmtree(folder / "tree")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plan.txt").write_bytes(text.encode("utf-8"))
    for rel, data in tree.items():
        path = folder / "tree" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def select_cases(
    cases: list[Case], library: Library, name: str | None
) -> tuple[list[Case], str | None]:
    """The cases to run, and a recipe id their results must involve (None: all of them).

    `name` is a component, a recipe id (the cases declaring it or whose planned path takes
    it), or a path to a case folder, a component folder or a recipe file.
    """
    if name is None:
        return cases, None
    as_path = Path(name)
    if as_path.exists():
        target = as_path.resolve()
        if target.is_file():
            recipe = next(
                (s.id for s in library.recipes.values() if not s.generated and s.path.resolve() == target),
                None,
            )
            folder = target.parent
            return [c for c in cases if c.folder.parent.parent.resolve() == folder], recipe
        return [
            c
            for c in cases
            if c.folder.resolve() == target or c.folder.resolve().is_relative_to(target)
        ], None
    if name in library.components:
        return [c for c in cases if c.folder.parent.parent.name == name], None
    if name in library.recipes:
        return cases, name
    raise RecipeError(
        f"no recipe, component or case folder named {name!r}",
        location=Location(name),
        hint="give a recipe id (e.g. stable-2.12-to-stable-2.13), a component name or a path",
    )


def involves(result: CaseResult, recipe: str | None) -> bool:
    return recipe is None or recipe in result.case.spec.recipes or recipe in result.recipes
