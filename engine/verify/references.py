"""Names that must resolve inside one cluster: a Flux Kustomization's `dependsOn`
(Kustomizations) and Flux-kind `healthChecks`, and a HelmRelease's `dependsOn`
(HelmReleases). A name that resolves nowhere makes Flux wait forever (dependsOn) or fail
its health check. An empty dependsOn namespace means the object's own namespace; a
healthChecks namespace is not defaulted (shared/reference/kustomize-flux.md §1.6).
Kinds that charts create (Deployments...) are not in the repo and are not checked.

Sources too: a HelmRelease's `spec.chart.spec.sourceRef` (HelmRepository, GitRepository,
Bucket) and `spec.chartRef` (OCIRepository, HelmChart), and a Flux Kustomization's
`spec.sourceRef`, must name an object the cluster receives; an empty namespace means the
referrer's own (shared/reference/kustomize-flux.md §1.1, §4)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from engine.verify.report import CheckResult, Status
from engine.verify.schemas import FLUX_GROUP_SUFFIX

if TYPE_CHECKING:
    from engine.verify.discovery import Obj

_DEPENDS_ON = {
    ("kustomize.toolkit.fluxcd.io", "Kustomization"): "Kustomization",
    ("helm.toolkit.fluxcd.io", "HelmRelease"): "HelmRelease",
}


def _group(api_version: Any) -> str:
    return str(api_version or "").partition("/")[0]


def _source_refs(target: str | None, spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The (field, reference) pairs naming the source of a HelmRelease or Kustomization."""
    if target == "HelmRelease":
        chart = spec.get("chart")
        template = chart.get("spec") if isinstance(chart, dict) else None
        found = [
            ("chart.spec.sourceRef", template.get("sourceRef") if isinstance(template, dict) else None),
            ("chartRef", spec.get("chartRef")),
        ]
    elif target == "Kustomization":
        found = [("sourceRef", spec.get("sourceRef"))]
    else:
        return []
    return [(field, ref) for field, ref in found if isinstance(ref, dict)]


def check_references(
    objects: Iterable[Obj], outside: Iterable[tuple[str, str, str]] = ()
) -> list[CheckResult]:
    """`outside`: (kind, namespace, name) of objects the cluster has that the repo does not
    define, e.g. the GitRepository `flux bootstrap` creates for a cluster whose sync files
    are not in the repo."""
    objects = list(objects)
    index: dict[tuple[str, str], set[str]] = {}
    for kind, namespace, name in outside:
        index.setdefault((kind, name), set()).add(namespace)
    for obj in objects:
        index.setdefault((obj.kind, obj.name), set()).add(obj.namespace)

    def exists(kind: str, namespace: str, name: str) -> bool:
        found = index.get((kind, name), set())
        # An object whose namespace the repo leaves to the cluster (none written) matches.
        return namespace in found or "" in found or (namespace == "" and bool(found))

    results: list[CheckResult] = []
    for obj in objects:
        spec = obj.data.get("spec")
        if not isinstance(spec, dict):
            continue
        target = _DEPENDS_ON.get((_group(obj.data.get("apiVersion")), obj.kind))
        for field, ref in _source_refs(target, spec):
            kind, name = str(ref.get("kind", "")), str(ref.get("name", ""))
            ns = str(ref.get("namespace") or obj.namespace)
            ok = exists(kind, ns, name)
            what = f"{field} {kind} {ns + '/' if ns else ''}{name}"
            message = "" if ok else f"{what}: no such {kind} in this cluster"
            results.append(
                CheckResult("reference", "pass" if ok else "fail", obj.origin, obj.label, message)
            )
        if target is not None:
            for dep in spec.get("dependsOn") or []:
                if not isinstance(dep, dict):
                    continue
                ns, name = str(dep.get("namespace") or obj.namespace), str(dep.get("name", ""))
                what = f"dependsOn {target} {ns}/{name}" if ns else f"dependsOn {target} {name}"
                ok = exists(target, ns, name)
                message = "" if ok else f"{what}: no such {target} in this cluster"
                results.append(
                    CheckResult(
                        "reference", "pass" if ok else "fail", obj.origin, obj.label, message
                    )
                )
        if obj.kind != "Kustomization" or target is None:
            continue
        for check in spec.get("healthChecks") or []:
            if not isinstance(check, dict) or not _group(check.get("apiVersion")).endswith(
                FLUX_GROUP_SUFFIX
            ):
                continue
            kind, name = str(check.get("kind", "")), str(check.get("name", ""))
            ns = str(check.get("namespace") or "")
            what = f"healthChecks {kind} {ns + '/' if ns else ''}{name}"
            if not ns:
                message = f"{what}: no namespace (Flux does not default it, the check never passes)"
            elif not exists(kind, ns, name):
                message = f"{what}: no such {kind} in this cluster"
            else:
                message = ""
            status: Status = "fail" if message else "pass"
            results.append(CheckResult("reference", status, obj.origin, obj.label, message))
    return results
