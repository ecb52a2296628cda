"""`waypath recipe new`: the next recipe, scaffolded from the hop before it.

The new file starts as a copy of the recipe that leads into the `from` line (its params,
phases and wording, with the version numbers moved one hop on), so the author edits a
working recipe instead of writing one from a blank page. Everything the author must decide
is marked `TODO(waypath)`, and `waypath recipe lint` fails until each marker is gone. The
new release is added to the component catalog by a splice edit (every other byte of
component.yaml stays), with chart versions guessed from the release before it. Authoring
writes only into the library folder given with `--recipes` (a ComponentExtension file
there when the component is defined elsewhere), all files or none.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from engine.authoring import libraries
from engine.authoring.lint import TODO
from engine.authoring.valuesdiff import ValuesDiff, diff_values, summary_lines
from engine.errors import Location, RecipeError, RepoError, UsageError, VersionError
from engine.output.apply import write_changes
from engine.planning.planmodel import FileChange
from engine.recipe.loading import ComponentSource, Library, RecipeSource
from engine.recipe.models import API_VERSION, TemplateStep
from engine.recipe.versions import Catalog, Version
from engine.yamltext.inputs import load_yaml
from engine.yamltext.splice import rewrite_document
from engine.yamltext.yamldoc import parse_file

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class Scaffold:
    recipe_path: Path
    component_path: Path
    release_added: bool
    template: str | None  # id of the recipe copied
    values: ValuesDiff | None = None
    messages: list[str] = field(default_factory=list)


def _line_label(v: Version) -> str:
    return f"{v.prefix or v.edition}-{v.semver.major}.{v.semver.minor}"


def _line_of(v: Version) -> tuple[str, int, int]:
    return (v.edition, v.semver.major, v.semver.minor)


def _resolve(catalog: Catalog, from_text: str, to_text: str) -> tuple[Version, Version]:
    start = catalog.resolve_target(from_text)
    try:
        target = catalog.parse_release(to_text)
    except VersionError as exc:
        raise UsageError(
            f"--to {to_text}: {exc.message}", hint="write the full release, e.g. enterprise-2.20.2"
        ) from None
    if not target.newer_than(start):
        raise UsageError(
            f"--to {target.label} is not newer than --from {start.label}",
            hint="a recipe leads from an older line to a newer release",
        )
    return start, target


def _template_recipe(library: Library, component: str, start: Version) -> RecipeSource | None:
    """The recipe that leads into the `from` line: supported ones first, then by id."""
    catalog = library.catalog(component)
    into: list[tuple[bool, str, RecipeSource]] = []
    for source in (s for s in library.recipes_for(component) if not s.generated):
        try:
            target = catalog.version(source.recipe.to.edition, source.recipe.to.version)
        except VersionError:
            continue
        if _line_of(target) == _line_of(start):
            into.append((source.recipe.supported, source.id, source))
    return max(into, key=lambda item: (item[0], item[1]))[2] if into else None


def _shift_versions(text: str, old: Sequence[tuple[str, str]]) -> str:
    """Replace whole version numbers (`2.19.8`, `2.19`, `2.18`) in one pass."""
    mapping = dict(old)
    alternatives = "|".join(re.escape(k) for k in sorted(mapping, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w.])({alternatives})(?![\d])")
    return pattern.sub(lambda m: mapping[m.group(1)], text)


def _version_map(
    template: RecipeSource, catalog: Catalog, start: Version, target: Version
) -> list[tuple[str, str]]:
    old_to = catalog.version(template.recipe.to.edition, template.recipe.to.version)
    lows = re.findall(r"\d+\.\d+", template.recipe.from_.versions)
    old_from_line = lows[0] if lows else None
    pairs = [
        (str(old_to.semver), str(target.semver)),
        (
            f"{old_to.semver.major}.{old_to.semver.minor}",
            f"{target.semver.major}.{target.semver.minor}",
        ),
    ]
    if old_from_line and old_from_line != pairs[1][0]:
        pairs.append((old_from_line, f"{start.semver.major}.{start.semver.minor}"))
    return pairs


def _from_range(start: Version, target: Version) -> str:
    low = f"{start.semver.major}.{start.semver.minor}.0"
    high = f"{target.semver.major}.{target.semver.minor}.0"
    if (start.semver.major, start.semver.minor) == (target.semver.major, target.semver.minor):
        high = str(target.semver)
    return f">={low} <{high}"


def _recipe_text(
    template: RecipeSource | None, catalog: Catalog, component: str, start: Version, target: Version
) -> str:
    hop = f"{_line_label(start)} -> {target.label}"
    if template is None:
        header = (
            f"# Scaffolded by `waypath recipe new`: no recipe leads into {_line_label(start)} "
            "to copy from.\n"
        )
        data: dict[str, Any] = {
            "apiVersion": "waypath.dev/v1",
            "kind": "Recipe",
            "component": component,
            "from": {},
            "to": {},
            "summary": "",
            "phases": [
                {
                    "name": "upgrade",
                    "message": f"{component}: upgrade to {{{{ to_release.label }}}}",
                    "steps": [{"note": f"{TODO}: add the steps of {hop}"}],
                }
            ],
        }
        text = header + yaml.safe_dump(data, sort_keys=False, width=100)
    else:
        shifted = _shift_versions(
            template.path.read_text(encoding="utf-8"),
            _version_map(template, catalog, start, target),
        )
        header = (
            f"# Scaffolded by `waypath recipe new` from {template.id} (the hop before): its "
            "params and phases,\n# with version numbers moved one hop on.\n"
            f"# {TODO}: keep the steps that {hop} needs, delete the others and these three lines.\n"
        )
        text = header + shifted
    doc = parse_file("recipe", text)[0]
    new = copy.deepcopy(doc.data)
    new.pop("id", None)
    new["from"] = {"edition": start.edition, "versions": _from_range(start, target)}
    new["to"] = {"edition": target.edition, "version": str(target.semver)}
    new["summary"] = f"{TODO}: one line saying what {hop} changes"
    if "description" in new or template is None:
        new["description"] = (
            f"{TODO}: what changes between {_line_label(start)} and {target.label}, with the "
            "reference for each fact\n"
        )
    return rewrite_document(text, doc, new)


def _guess_charts(catalog: Catalog, target: Version) -> tuple[dict[str, str], Version | None]:
    before = [v for v in catalog.releases if v.edition == target.edition and v < target]
    if not before:
        return {}, None
    previous = max(before)
    release = catalog.release(previous)
    charts = dict(release.charts) if release else {}
    same = str(previous.semver)
    return {c: str(target.semver) if v == same else v for c, v in charts.items()}, previous


def _release_entry(catalog: Catalog, target: Version) -> dict[str, Any]:
    charts, previous = _guess_charts(catalog, target)
    entry: dict[str, Any] = {"version": target.label}
    release = catalog.release(previous) if previous else None
    if release and release.repository:
        entry["repository"] = release.repository
    entry["charts"] = charts or {f"{TODO}-chart-name": "0.0.0"}
    entry["notes"] = (
        f"{TODO}: confirm every chart version (guessed from "
        f"{previous.label if previous else 'nothing'}: charts versioned like the release "
        "were moved to it, the others kept), then replace this note"
    )
    return entry


def _with_release(path: Path, catalog: Catalog, entry: dict[str, Any], target: Version) -> str:
    """The text of `path` (a component or extension file) with `entry` spliced into its
    releases, in version order; every other byte stays."""
    text = path.read_text(encoding="utf-8")
    doc = parse_file(str(path), text)[0]
    data = copy.deepcopy(doc.data)
    releases = data["releases"]
    labels = [catalog.parse_release(r["version"]) for r in releases]
    index = next(
        (i for i, v in enumerate(labels) if v.edition == target.edition and target < v), None
    )
    if index is None:
        same = [i for i, v in enumerate(labels) if v.edition == target.edition]
        index = same[-1] + 1 if same else len(releases)
    releases.insert(index, entry)
    return rewrite_document(text, doc, data)


def _new_extension(component: str, entry: dict[str, Any]) -> str:
    header = (
        f"# Releases of `{component}` added to the catalog Waypath ships, which is never edited\n"
        "# (docs/authoring.md). Written by `waypath recipe new`.\n"
    )
    data = {
        "apiVersion": API_VERSION,
        "kind": "ComponentExtension",
        "extends": component,
        "releases": [entry],
    }
    # one line per value (a wrapped TODO note is hard to find and replace)
    return header + yaml.safe_dump(data, sort_keys=False, width=1000)


def _library_dir(recipe_dirs: Sequence[Path], source: ComponentSource) -> Path:
    """Where authoring writes: the last --recipes folder, else the bundled library when it
    is a source checkout (never an installed package)."""
    if recipe_dirs:
        return recipe_dirs[-1]
    if libraries.installed_bundle():
        raise UsageError(
            "the bundled recipes belong to the installed Waypath package, which authoring "
            "never edits",
            hint="give --recipes DIR (your recipe library; created if missing): the recipe "
            f"goes to DIR/{source.component.name}/ and new releases to "
            f"DIR/{source.component.name}/component.yaml",
        )
    return source.path.parent.parent


def _template_files(template: RecipeSource | None, folder: Path) -> dict[Path, bytes]:
    """Template files the copied recipe uses that the new recipe's folder lacks."""
    if template is None or template.folder.resolve() == folder.resolve():
        return {}
    files: dict[Path, bytes] = {}
    for phase in template.recipe.phases:
        for step in phase.steps:
            if isinstance(step, TemplateStep) and step.template.source:
                source = template.folder / step.template.source
                if source.is_file() and not (folder / step.template.source).exists():
                    files[folder / step.template.source] = source.read_bytes()
    return files


def _write_all(library_dir: Path, added: dict[Path, bytes], modified: dict[Path, bytes]) -> None:
    """Every file or none (engine/output/apply.py's journal), folders created as needed."""
    root = library_dir.resolve()
    while not root.exists():
        root = root.parent
    def rel(path: Path) -> str:
        return path.resolve().relative_to(root).as_posix()

    changes = [FileChange(rel(path), "added", content) for path, content in added.items()]
    changes += [FileChange(rel(path), "modified", content) for path, content in modified.items()]
    try:
        write_changes(root, changes)
    except RepoError as exc:
        raise RepoError(exc.message, hint="nothing was written", problems=exc.problems) from None


def _values_block(diff: ValuesDiff, release: str, old: Path, new: Path) -> str:
    lines = [
        "",
        f"# {TODO}: chart default values changed ({old.name} -> {new.name}).",
        "# Proposed ops for the HelmRelease of that chart, a starting point to review: a move",
        "# is a guess at a rename (same key under another parent, or a similar name).",
        "# Paste the ones you keep into a patch step, then delete this block.",
    ]
    for op in diff.proposed_ops(release):
        dumped = yaml.safe_dump(op, default_flow_style=True, sort_keys=False, width=1000)
        lines.append(f"#   - {dumped.strip()}")
    lines += [f"# {line}" for line in summary_lines(diff)]
    return "\n".join(lines) + "\n"


def _load_values(path: Path) -> Any:
    """A Helm values file, through the one input path (size, alias and depth limits)."""
    docs = load_yaml(path, "values file")
    if len(docs) > 1:
        raise UsageError(
            f"values file {path} holds {len(docs)} YAML documents",
            hint="give one values file (`helm show values CHART --version V > values.yaml`)",
        )
    return docs[0] if docs else {}


def new_recipe(
    *,
    component: str,
    from_release: str,
    to_release: str,
    recipe_dirs: Sequence[Path],
    old_values: Path | None = None,
    new_values: Path | None = None,
) -> Scaffold:
    if (old_values is None) != (new_values is None):
        raise UsageError("give both --old-values and --new-values, or neither")
    # a --recipes folder that does not exist yet is created when the files are written
    library = libraries.load([d for d in recipe_dirs if d.exists()])
    source = library.components.get(component)
    if source is None:
        raise RecipeError(
            f"unknown component `{component}`",
            hint="known: " + (", ".join(sorted(library.components)) or "none"),
        )
    catalog = source.catalog
    start, target = _resolve(catalog, from_release, to_release)
    library_dir = _library_dir(recipe_dirs, source)
    folder = library_dir / component
    name = f"{_line_label(start)}-to-{_line_label(target)}.yaml"
    path = folder / name
    if path.exists():
        raise RecipeError(
            f"{path} already exists",
            location=Location(str(path)),
            hint="edit it, or delete it to scaffold it again",
        )
    same = library.recipes.get(path.stem)
    if same is not None and not same.generated:
        raise RecipeError(
            f"recipe `{path.stem}` already exists in {same.path}",
            location=Location(str(same.path)),
            hint="a library holds one recipe per hop: edit that one, or scaffold a hop to "
            "another release line",
        )
    template = _template_recipe(library, component, start)
    text = _recipe_text(template, catalog, component, start, target)
    result = Scaffold(path, source.path, False, template.id if template else None)
    if old_values is not None and new_values is not None:
        result.values = diff_values(_load_values(old_values), _load_values(new_values))
        text += _values_block(result.values, target.label, old_values, new_values)
    added = {path: text.encode("utf-8"), **_template_files(template, folder)}
    modified: dict[Path, bytes] = {}
    if catalog.release(target) is None:
        entry = _release_entry(catalog, target)
        mine = [f for f in source.files if f.resolve().is_relative_to(library_dir.resolve())]
        catalog_file = mine[-1] if mine else folder / "component.yaml"
        if catalog_file.is_file():
            modified[catalog_file] = _with_release(catalog_file, catalog, entry, target).encode()
        else:
            added[catalog_file] = _new_extension(component, entry).encode("utf-8")
        result.component_path, result.release_added = catalog_file, True
    _write_all(library_dir, added, modified)
    return result
