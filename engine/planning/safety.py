"""Invariant 6: no commit makes Flux uninstall a HelmRelease by accident.

helm-controller uninstalls a release when its HelmRelease object is deleted while not
suspended, and uninstalls-then-reinstalls when the chart name, `releaseName`,
`targetNamespace` or `storageNamespace` of an installed release changes (flux.md §1.3,
§1.5; linkerd.md §7.4–7.5). For every commit we compare the HelmReleases of the files it
touches, before and after, and refuse what would trigger that unless:

- the object was already suspended in the state the commit starts from (an earlier commit
  suspended it and the cluster has reconciled that) and is deleted, not edited; or
- the phase lists it under `uninstalls:` (a deliberate uninstall, reported); or
- only the chart name changes and the new object sets
  `spec.upgrade.chartNameChangeStrategy: InPlaceUpdate` (helm-controller >= 1.6).

Editing the identity of a suspended object is refused too: the uninstall would only be
postponed to the day someone resumes it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from engine.errors import Problem, SafetyError
from engine.planning.planmodel import ReportItem
from engine.repo.detect import helm_release_name
from engine.repo.flux.model import FluxModel
from engine.repo.workspace import Overlay


@dataclass(frozen=True)
class ReleaseIdentity:
    chart: str | None
    release_name: str
    target_namespace: str | None
    storage_namespace: str | None


def _spec(data: dict[str, Any]) -> dict[str, Any]:
    spec = data.get("spec")
    return spec if isinstance(spec, dict) else {}


def _chart(data: dict[str, Any]) -> str | None:
    chart = _spec(data).get("chart")
    if isinstance(chart, dict) and isinstance(chart.get("spec"), dict):
        name = chart["spec"].get("chart")
        return str(name) if name is not None else None
    ref = _spec(data).get("chartRef")
    if isinstance(ref, dict):
        return f"{ref.get('kind')}/{ref.get('name')}"
    return None


def identity(data: dict[str, Any]) -> ReleaseIdentity:
    spec = _spec(data)
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    assert isinstance(metadata, dict)
    namespace = metadata.get("namespace")
    return ReleaseIdentity(
        chart=_chart(data),
        release_name=helm_release_name(data),
        target_namespace=str(spec.get("targetNamespace") or namespace or "") or None,
        storage_namespace=str(spec.get("storageNamespace") or namespace or "") or None,
    )


def _suspended(data: dict[str, Any]) -> bool:
    return _spec(data).get("suspend") is True


def _in_place(data: dict[str, Any]) -> bool:
    upgrade = _spec(data).get("upgrade")
    return isinstance(upgrade, dict) and upgrade.get("chartNameChangeStrategy") == "InPlaceUpdate"


Key = tuple[str, str]  # (namespace or "", name)


def is_patch(model: FluxModel | None, path: str, index: int) -> bool:
    """Is this document a kustomize patch (read by a build, rendered by none), not an object?
    An overlay's `kind: HelmRelease` patch renamed along with its target is no uninstall."""
    if model is None or not model.clusters_of(path):
        return False
    return not model.renderings(path, index)


def _releases(
    overlay: Overlay, paths: Iterable[str], model: FluxModel | None
) -> dict[Key, tuple[str, dict[str, Any]]]:
    found: dict[Key, tuple[str, dict[str, Any]]] = {}
    for path in paths:
        if not overlay.exists(path) or not path.endswith((".yaml", ".yml")):
            continue
        for doc in overlay.documents(path):
            if is_patch(model, path, doc.index):
                continue
            if doc.kind == "HelmRelease" and isinstance(doc.data, dict):
                found[(doc.namespace or "", doc.name or "")] = (path, doc.data)
    return found


def check_commit(
    before: Overlay,
    after: Overlay,
    paths: Iterable[str],
    *,
    uninstalls: set[str],
    where: str,
    model: FluxModel | None = None,
) -> list[ReportItem]:
    """Raise SafetyError for an accidental uninstall; return reports for deliberate ones.
    With the Flux `model` of the repo, patch documents are not taken for objects."""
    paths = list(paths)
    old = _releases(before, paths, model)
    new = _releases(after, paths, model)
    reports: list[ReportItem] = []
    problems: list[str] = []
    for key, (path, data) in sorted(old.items()):
        label = f"HelmRelease {key[0] + '/' if key[0] else ''}{key[1]} ({path})"
        if key not in new:
            if key[1] in uninstalls:
                reports.append(
                    ReportItem(
                        "uninstall", f"{label} is deleted: Flux uninstalls its release", path
                    )
                )
            elif not _suspended(data):
                problems.append(
                    f"{label} is deleted while not suspended: Flux would uninstall release "
                    f"{helm_release_name(data)!r}"
                )
            continue
        new_data = new[key][1]
        was, now = identity(data), identity(new_data)
        if was == now:
            continue
        changed = [
            f"{field} {getattr(was, field)!r} -> {getattr(now, field)!r}"
            for field in ("chart", "release_name", "target_namespace", "storage_namespace")
            if getattr(was, field) != getattr(now, field)
        ]
        only_chart = [c.split(" ")[0] for c in changed] == ["chart"]
        if only_chart and _in_place(new_data):
            continue
        if key[1] in uninstalls:
            reports.append(ReportItem("uninstall", f"{label}: {', '.join(changed)}", path))
            continue
        problems.append(
            f"{label} changes {', '.join(changed)}: Flux would uninstall and reinstall the release"
        )
    if problems:
        raise SafetyError(
            f"{where} would make Flux uninstall a release",
            problems=[Problem(p) for p in problems],
            hint="suspend the HelmRelease in an earlier phase and create a new object instead of "
            "editing it, use `spec.upgrade.chartNameChangeStrategy: InPlaceUpdate` for a chart "
            "rename (helm-controller >= 1.6), or list it under the phase's `uninstalls:`",
        )
    return reports
