"""`waypath recipe lint`: every problem of a recipe library, each with its place and code.

Order of checks: the schema (loading's located errors), then, on the files that loaded,
the graph, templates, patch paths and values keys, and TODO markers left by
`waypath recipe new`. Checks that need reference data say when they were skipped.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from engine.authoring import reference
from engine.authoring.lint_graph import check_graph
from engine.authoring.lint_patches import PatchCheck, check_patches
from engine.authoring.lint_templates import check_templates
from engine.authoring.problems import LintProblem
from engine.errors import Location, Problem, RecipeError, UsageError, VersionError
from engine.recipe.confine import LibraryLinkError
from engine.recipe.loading import (
    ComponentSource,
    Library,
    RecipeSource,
    bundled_recipes_dir,
    component_file_kind,
    component_folders,
    load_library,
    load_yaml_model,
    recipe_files,
)
from engine.recipe.models import Component, Recipe
from engine.recipe.versions import Catalog

TODO = "TODO(waypath)"


@dataclass
class LintResult:
    problems: list[LintProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was checked or skipped, and why

    @property
    def errors(self) -> list[LintProblem]:
        return [p for p in self.problems if p.severity == "error"]


@dataclass
class LintTarget:
    """What `recipe lint PATH...` loads and what it reports on."""

    libraries: list[Path] = field(default_factory=list)  # library folders, loaded whole
    components: list[Path] = field(default_factory=list)  # single component folders
    report: list[Path] = field(default_factory=list)  # problems only at or below these


def _component_of(file: Path) -> Path | None:
    """The component folder holding a recipe file: the nearest folder with component.yaml."""
    for folder in file.parents:
        if (folder / "component.yaml").is_file():
            return folder
        if folder.name in ("", "/") or folder == folder.parent:
            break
    return None


def _is_library(folder: Path) -> bool:
    try:
        return any((c / "component.yaml").is_file() for c in folder.iterdir() if c.is_dir())
    except OSError:
        return False


def lint_target(paths: Sequence[Path], context: Sequence[Path] = ()) -> LintTarget:
    """Exactly the given paths: a library folder, a component folder (the folder of a
    component.yaml) or a recipe file (with the component it belongs to, for context).
    `context` libraries (--recipes) are loaded too, but not reported on."""
    target = LintTarget()

    def add_component(folder: Path) -> None:
        if not any(folder.resolve() == c.resolve() for c in target.components):
            target.components.append(folder)

    for path in paths:
        if not path.exists():
            raise UsageError(f"{path} does not exist", hint=_LINT_HINT)
        if path.is_file():
            folder = path.parent if path.name == "component.yaml" else _component_of(path)
            if folder is None or (
                path.name != "component.yaml"
                and path.resolve() not in [r.resolve() for r in recipe_files(folder)]
            ):
                raise UsageError(
                    f"{path} is not a recipe file (a .yaml file in a folder with "
                    "component.yaml, or below one, outside templates/ and tests/)",
                    hint=_LINT_HINT,
                )
            add_component(folder)
            report = [folder] if path.name == "component.yaml" else [path, *_needs(folder)]
            target.report.extend(report)
        elif (path / "component.yaml").is_file():
            add_component(path)
            target.report.append(path)
        elif _is_library(path):
            target.libraries.append(path)
            target.report.append(path)
        else:
            raise UsageError(
                f"{path} is neither a recipe library (a folder of <component>/component.yaml) "
                "nor a component folder (one holding component.yaml)",
                hint=_LINT_HINT,
            )
    target.libraries.extend(d for d in context if d.is_dir())
    loaded = [d.resolve() for d in target.libraries]
    # a component of a library loaded whole is not loaded twice
    target.components = [c for c in target.components if c.parent.resolve() not in loaded]
    return target


def _needs(folder: Path) -> list[Path]:
    """What a single recipe file of `folder` needs: its component file and templates."""
    return [folder / "component.yaml", folder / "templates"]


_LINT_HINT = (
    "give a recipe library, a component folder or a recipe file (docs/authoring.md); "
    "with no path, lint lints the libraries in use"
)


def _code(problem: Problem) -> str:
    if "symlink" in problem.message:
        return "symlink"
    if problem.message.startswith("YAML syntax error"):
        return "yaml-syntax"
    if "is already used by" in problem.message or "is already defined in" in problem.message:
        return "duplicate-id"
    if "is not a known release" in problem.message:
        return "unknown-target"
    return "schema"


def _schema_problems(exc: RecipeError) -> list[LintProblem]:
    found = []
    for problem in exc.problems or [Problem(exc.message, exc.location)]:
        where = problem.location or exc.location or Location("<recipes>")
        field_ = f"{problem.field_path}: " if problem.field_path else ""
        found.append(LintProblem(where, _code(problem), field_ + problem.message))
    return found


def _partial_library(dirs: Sequence[Path], components: Sequence[Path], bad: set[str]) -> Library:
    """What loads cleanly, so the other checks can still run when some files are broken."""
    library = Library()
    folders = [*component_folders(dirs), *components]
    for folder in folders:
        path = folder / "component.yaml"
        if path.is_file() and str(path) not in bad and component_file_kind(path) == "Component":
            try:
                component = load_yaml_model(path, Component)
                if component.name not in library.components:
                    library.components[component.name] = ComponentSource(
                        component, path, Catalog(component)
                    )
            except (RecipeError, VersionError):
                pass
    for folder in folders:
        for path in recipe_files(folder):
            if str(path) in bad:
                continue
            try:
                recipe = load_yaml_model(path, Recipe)
            except RecipeError:
                continue
            recipe_id = recipe.id or path.stem
            if recipe.component in library.components and recipe_id not in library.recipes:
                library.recipes[recipe_id] = RecipeSource(recipe, recipe_id, path, path.parent)
    return library


def _folder_names(paths: set[str], dirs: Sequence[Path], components: Sequence[Path]) -> set[str]:
    """Component folder names (first level below a library folder) holding these files."""
    names = set()
    for path in paths:
        resolved = Path(os.path.realpath(path))  # never raises, a symlink loop included
        for folder in dirs:
            if resolved.is_relative_to(folder.resolve()) and resolved != folder.resolve():
                names.add(resolved.relative_to(folder.resolve()).parts[0])
        names.update(c.name for c in components if resolved.is_relative_to(c.resolve()))
    return names


def _load(dirs: Sequence[Path], components: Sequence[Path], result: LintResult) -> Library:
    bundled = bundled_recipes_dir().resolve()
    extra = [d for d in dirs if d.resolve() != bundled]
    bundled_names = [c.name for c in component_folders([bundled])] if bundled.is_dir() else []
    needs_bundled = len(extra) < len(dirs) or any(
        not (c / "component.yaml").is_file()
        or component_file_kind(c / "component.yaml") != "Component"
        for c in [*component_folders(extra, also=bundled_names), *components]
    )
    try:
        return load_library(extra, include_bundled=needs_bundled, component_dirs=components)
    except LibraryLinkError as exc:  # nothing may be read through those links
        result.problems.extend(_schema_problems(exc))
        return Library()
    except RecipeError as exc:
        problems = _schema_problems(exc)
        result.problems.extend(problems)
        bad = {p.location.path for p in problems}
        return _partial_library(([bundled] if needs_bundled else []) + extra, components, bad)


def _todos(path: Path) -> list[LintProblem]:
    found = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    for number, line in enumerate(lines, 1):
        column = line.find(TODO)
        if column >= 0:
            text = line[column + len(TODO) :].strip(" :\"'") or "fill this in"
            found.append(LintProblem(Location(str(path), number, column + 1), "todo", text))
    return found


def _inside(path: Path, dirs: Sequence[Path]) -> bool:
    resolved = path.parent.resolve() / path.name  # a symlink is where it is, not its target
    return any(resolved.is_relative_to(d.resolve()) for d in dirs)


def lint(
    dirs: Sequence[Path],
    *,
    components: Sequence[Path] = (),
    report: Sequence[Path] | None = None,
) -> LintResult:
    """Lint the recipe libraries `dirs` and component folders `components`; problems only
    for files at or below `report` (default: all of them)."""
    result = LintResult()
    scope = list(report) if report is not None else [*dirs, *components]
    library = _load(dirs, components, result)
    broken = _folder_names({p.location.path for p in result.problems}, dirs, components)
    patches = PatchCheck()
    for name, component in sorted(library.components.items()):
        # Generated patch-line recipes are the engine's, not the author's: not linted.
        recipes = [s for s in library.recipes_for(name) if not s.generated]
        mine = [s for s in recipes if _inside(s.path, scope)]
        if not mine and not any(_inside(path, scope) for path in component.files):
            continue
        if name in broken or component.path.parent.name in broken:
            # a graph without the broken files would only report their absence
            result.notes.append(f"graph checks of `{name}` skipped until its files load")
        else:
            result.problems.extend(check_graph(component, recipes))
        for path in component.files:
            if _inside(path, scope):
                result.problems.extend(_todos(path))
        for source in mine:
            result.problems.extend(check_templates(source))
            check_patches(source, component, patches)
            result.problems.extend(_todos(source.path))
    result.problems.extend(patches.problems)
    result.problems = sorted(set(result.problems), key=LintProblem.sort_key)
    result.problems = [p for p in result.problems if _inside(Path(p.location.path), scope)]
    if reference.charts_dir() is None:
        result.notes.append(
            "values-key check skipped: no reference chart values found "
            "(set WAYPATH_REFERENCE to the folder holding index.tsv)"
        )
    elif patches.skipped:
        result.notes.append(
            "values-key check skipped for chart versions without reference values: "
            + ", ".join(sorted(patches.skipped))
        )
    if not reference.crd_schemas():
        result.notes.append(
            "patch-path check used the built-in HelmRelease field list "
            "(Flux CRDs not found; set WAYPATH_FLUX_SCHEMAS)"
        )
    return result
