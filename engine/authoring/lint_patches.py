"""Patch paths that fit the documents they select, and values keys the target chart knows.

- `patch-path`: the path of an op on a selector that names a kind (`kind:`, or a
  HelmRelease through `chart:`/`detector:`) must follow the fields of that kind's CRD
  (from the Flux CRDs when reachable, else a built-in list of HelmRelease spec fields).
- `values-key`: a key an op sets under `/spec/values/` must exist in the default values
  of the chart version the recipe's target release ships, when reference values for that
  chart version are known. Keys under an empty mapping or a null default are free-form.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from engine.authoring import reference
from engine.authoring.positions import Keys, locate
from engine.authoring.problems import LintProblem
from engine.errors import VersionError
from engine.recipe.loading import ComponentSource, RecipeSource
from engine.recipe.models import Op, PatchStep, Selector

_KEYED = re.compile(r"^(?P<name>.*)\[[^=\]]+=[^\]]*\]$")
_SETS = ("add", "replace", "copy", "move")


def segments(pointer: str) -> list[str]:
    return [s.replace("~1", "/").replace("~0", "~") for s in pointer.split("/")[1:]]


@dataclass
class PatchCheck:
    problems: list[LintProblem] = field(default_factory=list)
    skipped: set[str] = field(default_factory=set)  # "chart version" without reference values
    checked: set[str] = field(default_factory=set)


def _kind_of(selector: Selector) -> str | None:
    if selector.kind:
        return selector.kind
    if selector.chart or selector.detector:
        return "HelmRelease"
    return None


def _close(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean `{close[0]}`?" if close else ""


def _schema_problem(kind: str, path: str) -> str | None:
    """Why `path` cannot be a field of `kind`, or None when it can (or we cannot tell)."""
    schemas = reference.crd_schemas()
    parts = segments(path)
    if kind in schemas:
        node: dict[str, Any] = schemas[kind]
        walked = ""
        for part in parts:
            keyed = _KEYED.match(part)
            name = keyed["name"] if keyed else part
            if node.get("type") == "array" and (name.isdigit() or name == "-"):
                node = node.get("items", {})
                continue
            props = node.get("properties")
            if not props or node.get("x-kubernetes-preserve-unknown-fields"):
                return None
            if name not in props:
                where = f"`{walked}`" if walked else "the document"
                return (
                    f"`{name}` is not a field of {where} in a {kind}{_close(name, sorted(props))}"
                )
            walked += "/" + name
            node = props[name]
            if keyed:
                node = node.get("items", {})
        return None
    fields = reference.BUILTIN_FIELDS.get(kind)
    if fields and len(parts) >= 2 and parts[0] == "spec":
        keyed = _KEYED.match(parts[1])  # `valuesFrom[targetPath=...]` is the field valuesFrom
        name = keyed["name"] if keyed else parts[1]
        if name not in fields:
            return f"`{name}` is not a field of `/spec` in a {kind}{_close(name, fields)}"
    return None


def _values_problem(defaults: Any, parts: list[str]) -> str | None:
    node = defaults
    walked: list[str] = []
    for part in parts:
        if _KEYED.match(part) or part == "-" or part.isdigit():
            return None
        if node is None or node == "" or isinstance(node, list):
            return None
        if not isinstance(node, dict):
            return f"`{'.'.join(walked)}` is a plain value in the chart defaults, not a mapping"
        if part not in node:
            if not node:
                return None
            name = ".".join([*walked, part])
            return f"`{name}` is not in the chart's default values{_close(part, sorted(node))}"
        walked.append(part)
        node = node[part]
    return None


def _ops(source: RecipeSource) -> Iterator[tuple[Keys, Selector, int, Op]]:
    for p, phase in enumerate(source.recipe.phases):
        for s, step in enumerate(phase.steps):
            if isinstance(step, PatchStep):
                for o, op in enumerate(step.patch.ops):
                    yield ("phases", p, "steps", s, "patch", "ops", o), step.patch.select, o, op


def _charts(component: ComponentSource, selector: Selector) -> list[str]:
    if selector.chart:
        return [selector.chart] if isinstance(selector.chart, str) else list(selector.chart)
    if selector.detector:
        for detector in component.component.detectors:
            if detector.name == selector.detector:
                return list(detector.charts)
    return []


def check_patches(source: RecipeSource, component: ComponentSource, result: PatchCheck) -> None:
    catalog = component.catalog
    try:
        target = catalog.version(source.recipe.to.edition, source.recipe.to.version)
    except VersionError:
        return
    release = catalog.release(target)
    shipped = dict(release.charts) if release else {}
    have_reference = reference.charts_dir() is not None
    for keys, selector, _, op in _ops(source):
        kind = _kind_of(selector)
        if kind is None:
            continue
        for name, pointer in (("path", op.path), ("from", op.from_)):
            if pointer and "{" not in pointer:
                why = _schema_problem(kind, pointer)
                if why:
                    result.problems.append(
                        LintProblem(locate(source.path, (*keys, name)), "patch-path", why)
                    )
        parts = segments(op.path)
        if kind != "HelmRelease" or op.op not in _SETS or parts[:2] != ["spec", "values"]:
            continue
        if "{" in op.path or len(parts) < 3 or not have_reference:
            continue
        for chart in _charts(component, selector):
            version = shipped.get(chart)
            if version is None:
                continue
            values = reference.chart_values_file(chart, version)
            label = f"{chart} {version}"
            if values is None:
                result.skipped.add(label)
                continue
            result.checked.add(label)
            why = _values_problem(reference.load_values(values.path), parts[2:])
            if why:
                result.problems.append(
                    LintProblem(
                        locate(source.path, (*keys, "path")),
                        "values-key",
                        f"{why} ({label}, {values.path.name})",
                    )
                )
