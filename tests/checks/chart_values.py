"""Check (b): every values key a recipe sets on a Linkerd HelmRelease exists in the chart.

"Exists" means: the key path is in that chart version's default values
(`shared/reference/charts/`, mapped through `index.tsv`), or it lands inside a default
that is an open map (`{}` or null, e.g. `podAnnotations`), or it is on `ALLOWED` below
with the reason it is fine. BEL charts publish no default values: as the reference does,
an enterprise chart is compared with the OSS edge chart of the same major, and keys nested
under `linkerd-control-plane:` (BEL 2.15/2.16 umbrella layout) are compared without that
prefix. Only the keys a commit *adds* are checked — compared with the same release in the
state before the commit (nesting or un-nesting does not count as adding) — so keys the
user already had are not the recipe's doing.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from engine.planning.planmodel import Plan
from tests.checks.release_safety import identity
from tests.checks.repostate import Release, all_releases, load_documents, walk

Key = tuple[str, ...]

NESTED = "linkerd-control-plane"
NESTED_MAJORS = {"2.15", "2.16"}
ENTERPRISE_TO_OSS = {
    "linkerd-enterprise-control-plane": "linkerd-control-plane",
    "linkerd-enterprise-crds": "linkerd-crds",
    "linkerd-enterprise-multicluster": "linkerd-multicluster",
}
LINKERD_CHARTS = {
    "linkerd2",
    "linkerd-crds",
    "linkerd-control-plane",
    "linkerd-viz",
    "linkerd-jaeger",
    "linkerd-multicluster",
    "linkerd2-cni",
    "linkerd-smi",
    "linkerd-buoyant",
    *ENTERPRISE_TO_OSS,
}

# Charts whose default values the reference does not hold: any key is accepted, for this reason.
UNKNOWN_CHARTS = {
    "linkerd-buoyant": "Buoyant's extension chart publishes no default values; the keys the "
    "recipes set (licenseSecret) come from BEL examples (linkerd.md §6)",
    "linkerd-smi": "no default values in the reference",
}

# (chart, key) -> why a key missing from the OSS defaults is fine.
ALLOWED: dict[tuple[str, Key], str] = {
    ("linkerd-enterprise-control-plane", ("licenseSecret",)): (
        "BEL-only top-level key naming the licence Secret (linkerd.md §6 License)"
    ),
    ("linkerd-enterprise-control-plane", ("license",)): (
        "BEL-only top-level licence value (linkerd.md §6 License)"
    ),
}


@dataclass(frozen=True)
class Row:
    label: str
    chart: str
    version: str
    file: str


@cache
def chart_index(charts_dir: Path) -> tuple[Row, ...]:
    rows: list[Row] = []
    with (charts_dir / "index.tsv").open(encoding="utf-8") as handle:
        for fields in csv.reader(handle, delimiter="\t"):
            if not fields or fields[0].startswith("#") or fields[-1].endswith("-ha.yaml"):
                continue
            label, _release, _ref, chart, version, file = fields
            rows.append(Row(label, chart, version, file))
    return tuple(rows)


def _major(release: str) -> str:
    """'stable-2.14.10' / 'enterprise-2.16.5' / '2.16.5' -> '2.14' / '2.16' / '2.16'."""
    number = release.rsplit("-", 1)[-1]
    return ".".join(number.split(".")[:2])


def _row_major(row: Row) -> str:
    return ".".join(row.label.split("-")[0].split(".")[:2])


@cache
def load_defaults(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def defaults_for(charts_dir: Path, chart: str, version: str | None, to_release: str) -> Any:
    """Default values of `chart` at `version` (or, for a range, at the commit's target)."""
    rows = chart_index(charts_dir)
    oss = ENTERPRISE_TO_OSS.get(chart, chart)
    exact = [r for r in rows if r.chart == oss and r.version == version and chart == oss]
    if not exact:
        major = _major(version) if chart != oss and version else _major(to_release)
        exact = [r for r in rows if r.chart == oss and _row_major(r) == major]
    if not exact:
        raise LookupError(
            f"no default values in the reference for chart {chart} {version} "
            f"(target {to_release}); extend the mapping in tests/checks/chart_values.py"
        )
    return load_defaults(charts_dir / exact[0].file)


def leaves(values: Any, prefix: Key = ()) -> Iterator[Key]:
    if isinstance(values, dict) and values:
        for key, value in values.items():
            yield from leaves(value, (*prefix, str(key)))
    elif prefix:
        yield prefix


def exists(defaults: Any, key: Key) -> bool:
    node = defaults
    for part in key:
        if node is None or node == {}:
            return True  # an open map: any key below it is the chart's business
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def nested_layout(chart: str | None, version: str | None) -> bool:
    """BEL 2.15/2.16 nest the OSS values under `linkerd-control-plane:` (linkerd.md §6)."""
    return chart == "linkerd-enterprise-control-plane" and _major(version or "") in NESTED_MAJORS


def values_keys(release: Release, tree: dict[str, bytes]) -> set[Key]:
    """The leaf keys a release sets (inline values and valuesFrom targetPaths), with the
    umbrella prefix stripped where the chart nests, so that (un)nesting adds nothing."""
    nested = nested_layout(*chart_and_version(release, tree))
    found = set(leaves(release.spec.get("values") or {}))
    for item in release.spec.get("valuesFrom") or []:
        if isinstance(item, dict) and item.get("targetPath"):
            found.add(tuple(str(item["targetPath"]).split(".")))
    return {k[1:] if nested and k[:1] == (NESTED,) else k for k in found}


def _oci_charts(tree: dict[str, bytes]) -> dict[tuple[str, str], tuple[str, str | None]]:
    """(namespace, name) of each OCIRepository -> (chart name from its URL, ref.tag)."""
    found: dict[tuple[str, str], tuple[str, str | None]] = {}
    for path, data in tree.items():
        if not path.endswith((".yaml", ".yml")) or b"OCIRepository" not in data:
            continue
        for doc in load_documents(path, data):
            if isinstance(doc, dict) and doc.get("kind") == "OCIRepository":
                meta, spec = doc.get("metadata") or {}, doc.get("spec") or {}
                chart = str(spec.get("url", "")).rstrip("/").rsplit("/", 1)[-1]
                tag = (spec.get("ref") or {}).get("tag")
                found[(str(meta.get("namespace") or ""), str(meta.get("name")))] = (chart, tag)
    return found


def chart_and_version(release: Release, tree: dict[str, bytes]) -> tuple[str | None, str | None]:
    spec = release.spec
    chart = spec.get("chart")
    if isinstance(chart, dict) and isinstance(chart.get("spec"), dict):
        inner = chart["spec"]
        version = inner.get("version")
        return str(inner.get("chart")), None if version is None else str(version)
    ref = spec.get("chartRef")
    if isinstance(ref, dict) and ref.get("kind") == "OCIRepository":
        key = (str(ref.get("namespace") or release.key[0]), str(ref.get("name")))
        return _oci_charts(tree).get(key, (None, None))
    return None, None


def _previous(release: Release, before: dict[tuple[str, str], Release]) -> Release | None:
    """The same release before the commit: same object, else same Helm release, else the
    HelmRelease that sat in the same file and is gone now (a rename in place)."""
    if release.key in before:
        return before[release.key]
    ident = identity(release)
    for old in before.values():
        was = identity(old)
        if (was.release_name, was.target_namespace) == (ident.release_name, ident.target_namespace):
            return old
    same_file = [old for old in before.values() if old.path == release.path]
    return same_file[0] if len(same_file) == 1 else None


def check_plan(plan: Plan, initial: dict[str, bytes], charts_dir: Path) -> list[str]:
    problems: list[str] = []
    for step in walk(plan, initial):
        changed = {c.path for c in step.commit.changes}
        before = all_releases(step.before)
        where = f"commit {step.index + 1} ({step.commit.recipe}/{step.commit.phase})"
        for _, release in sorted(all_releases(step.after).items()):
            if release.path not in changed:
                continue
            chart, version = chart_and_version(release, step.after)
            if chart not in LINKERD_CHARTS or chart in UNKNOWN_CHARTS:
                continue
            old = _previous(release, before)
            added = values_keys(release, step.after) - (
                values_keys(old, step.before) if old else set()
            )
            if not added:
                continue
            try:
                defaults = defaults_for(charts_dir, chart, version, step.commit.to_version)
            except LookupError as exc:
                problems.append(f"{where}: {release.label}: {exc}")
                continue
            for added_key in sorted(added):
                if exists(defaults, added_key) or (chart, added_key) in ALLOWED:
                    continue
                problems.append(
                    f"{where}: {release.label} sets values key {'.'.join(added_key)!r}, "
                    f"which chart {chart} {version} does not have"
                )
    return problems
