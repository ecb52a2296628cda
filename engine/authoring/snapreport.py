"""Snapshot review for merge requests: what the recipes render now vs the committed files.

The scenarios come from a module (default `tests.checks.scenarios`, the scenario list the
snapshot tests use) with this contract:

- `SCENARIOS`: objects with `.id` (`<fixture>/<scenario>`, the folder below snapshots/);
- `run(scenario, library)`: an object with `.files` (file name -> text, as stored below
  the scenario folder) and `.plan` (the Plan, or None when the scenario is an expected
  refusal).

Diff files are named `NN-<recipe>-<phase>.diff` after commit NN of the plan, which is how
a change is attributed to a recipe; `plan.md` and `error.md` belong to the whole path.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import UsageError
from engine.planning.planmodel import Plan
from engine.recipe.loading import Library

_NUMBERED = re.compile(r"^(\d+)-")


@dataclass(frozen=True)
class Rendered:
    """One scenario's snapshot files as rendered now, each with the recipe it belongs to."""

    id: str
    files: dict[str, str]
    recipes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FileDrift:
    scenario: str
    name: str
    recipe: str
    status: str  # "changed", "new", "missing"
    diff: str


@dataclass
class Drift:
    files: list[FileDrift] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)  # below the snapshot root

    @property
    def clean(self) -> bool:
        return not self.files and not self.unused


def recipe_of(name: str, plan: Plan | None) -> str:
    match = _NUMBERED.match(name)
    if plan is not None and match and 0 < int(match.group(1)) <= len(plan.commits):
        return plan.commits[int(match.group(1)) - 1].recipe
    if plan is not None and plan.path:
        return "path " + " -> ".join(plan.path)
    return "(whole plan)"


def load_scenarios(name: str) -> Any:
    """The scenario module: a dotted name importable from the current folder, or a .py file."""
    try:
        if name.endswith(".py"):
            path = Path(name)
            spec = importlib.util.spec_from_file_location(path.stem, path)
            if spec is None or spec.loader is None or not path.is_file():
                raise ModuleNotFoundError(f"no file {name}")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        else:
            if str(Path.cwd()) not in sys.path:
                sys.path.insert(0, str(Path.cwd()))
            module = importlib.import_module(name)
    except ImportError as exc:
        raise UsageError(
            f"cannot load the snapshot scenarios {name}: {exc}",
            hint="snapshot-report renders the scenarios of a library's own test suite: run it "
            "from the root of a Waypath checkout (it needs tests/checks/scenarios.py, "
            "tests/fixtures/, examples/ and snapshots/), or give --scenarios MODULE or "
            "FILE.py defining SCENARIOS and run(scenario, library) (docs/snapshots.md)",
        ) from None
    if not hasattr(module, "SCENARIOS") or not callable(getattr(module, "run", None)):
        raise UsageError(
            f"{name} defines no SCENARIOS and run(scenario, library)",
            hint="see the contract at the top of engine/authoring/snapreport.py",
        )
    return module


def render_scenarios(module_name: str, library: Callable[[], Library]) -> list[Rendered]:
    """Every scenario of the module rendered now (`library` is called once, when needed)."""
    module = load_scenarios(module_name)
    rendered = []
    loaded: list[Library] = []
    for scenario in module.SCENARIOS:
        if not loaded:
            loaded.append(library())
        outcome = module.run(scenario, loaded[0])
        plan = getattr(outcome, "plan", None)
        files = dict(outcome.files)
        rendered.append(Rendered(scenario.id, files, {n: recipe_of(n, plan) for n in files}))
    return rendered


def _diff(old: str, new: str, name: str) -> str:
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=f"a/snapshots/{name}",
        tofile=f"b/snapshots/{name}",
    )
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )


def compare(rendered: Iterable[Rendered], root: Path) -> Drift:
    drift = Drift()
    produced: set[str] = set()
    for scenario in rendered:
        folder = root / scenario.id
        stored = (
            {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}
            if folder.is_dir()
            else {}
        )
        for name, text in sorted(scenario.files.items()):
            rel = f"{scenario.id}/{name}"
            produced.add(rel)
            recipe = scenario.recipes.get(name, "(whole plan)")
            if name not in stored:
                drift.files.append(
                    FileDrift(scenario.id, name, recipe, "new", _diff("", text, rel))
                )
                continue
            old = stored[name].read_bytes().decode("utf-8", "replace")
            if old != text:
                drift.files.append(
                    FileDrift(scenario.id, name, recipe, "changed", _diff(old, text, rel))
                )
        for name, path in stored.items():
            if name not in scenario.files:
                rel = f"{scenario.id}/{name}"
                produced.add(rel)
                old = path.read_bytes().decode("utf-8", "replace")
                recipe = recipe_of(name, None)
                drift.files.append(
                    FileDrift(scenario.id, name, recipe, "missing", _diff(old, "", rel))
                )
    if root.is_dir():
        drift.unused = sorted(
            p.relative_to(root).as_posix()
            for p in root.rglob("*")
            if p.is_file() and p.relative_to(root).as_posix() not in produced
        )
    return drift


def _fence(text: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


_STATUS = {
    "changed": "changed",
    "new": "new file (not committed yet)",
    "missing": "no longer produced (committed file would be deleted)",
}


def render_report(drift: Drift, *, snapshots: str = "snapshots") -> str:
    """Markdown for a merge-request comment: per recipe, per scenario, one diff each."""
    if drift.clean:
        return "## Snapshot review\n\nThe rendered snapshots match the committed files.\n"
    counts = {s: sum(1 for f in drift.files if f.status == s) for s in _STATUS}
    out = [
        "## Snapshot review",
        "",
        f"The recipes now render differently from the files committed under `{snapshots}/`: "
        f"{counts['changed']} changed, {counts['new']} new, {counts['missing']} no longer "
        f"produced; {len(drift.unused)} unused file(s).",
        "",
        "If every change below is intended, run `pytest --snapshot-update` and commit the "
        "updated files; otherwise fix the recipe.",
    ]
    by_recipe: dict[str, list[FileDrift]] = {}
    for item in drift.files:
        by_recipe.setdefault(item.recipe, []).append(item)
    for recipe in sorted(by_recipe):
        out += ["", f"### Recipe `{recipe}`"]
        for item in sorted(by_recipe[recipe], key=lambda f: (f.scenario, f.name)):
            fence = _fence(item.diff)
            out += [
                "",
                f"#### `{item.scenario}` — `{item.name}` ({_STATUS[item.status]})",
                "",
                f"{fence}diff",
                item.diff.rstrip("\n"),
                fence,
            ]
    if drift.unused:
        out += ["", "### Unused snapshot files", "", "No scenario produces these; delete them:", ""]
        out += [f"- `{snapshots}/{name}`" for name in drift.unused]
    return "\n".join(out) + "\n"
