"""Two definitions of one object in what one cluster receives: same API group, kind,
namespace and name. Inside one kustomize build that happens when two documents differ
only by apiVersion (kustomize keeps both, the cluster has one object and the last apply
wins); across two Flux Kustomizations of one cluster, two owners fight over the object
(each one's apply and prune undoes the other's)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from engine.verify.report import CheckResult

if TYPE_CHECKING:
    from engine.verify.discovery import FluxKustomization, Obj

Identity = tuple[str, str, str, str]  # API group, kind, namespace, name


def api_group(api_version: object) -> str:
    """`source.toolkit.fluxcd.io/v1` -> `source.toolkit.fluxcd.io`; core `v1` -> ``."""
    text = str(api_version or "")
    return text.partition("/")[0] if "/" in text else ""


def identity(obj: Obj) -> Identity:
    return (api_group(obj.data.get("apiVersion")), obj.kind, obj.namespace, obj.name)


def _where(obj: Obj) -> str:
    return f"{obj.origin} ({obj.data.get('apiVersion', '')})"


def check_duplicates(owned: Sequence[tuple[FluxKustomization, Sequence[Obj]]]) -> list[CheckResult]:
    """One result per Flux Kustomization build: pass, or a failure per object defined twice
    (in its own build, or already applied by an earlier Kustomization of the cluster)."""
    results: list[CheckResult] = []
    owners: dict[Identity, tuple[FluxKustomization, Obj]] = {}
    for ks, objects in owned:
        failures: list[CheckResult] = []
        mine: dict[Identity, Obj] = {}
        for obj in objects:
            key = identity(obj)
            if key in mine:
                first = mine[key]
                failures.append(
                    CheckResult(
                        "duplicate", "fail", obj.origin, obj.label,
                        f"defined twice in the build of {ks.label}: {_where(first)} and "
                        f"{_where(obj)}; the cluster has one object, keep one definition",
                    )
                )  # fmt: skip
                continue
            mine[key] = obj
            if key in owners and owners[key][0] != ks:
                other, theirs = owners[key]
                failures.append(
                    CheckResult(
                        "duplicate", "fail", obj.origin, obj.label,
                        f"applied by two Flux Kustomizations of this cluster: {other.label} "
                        f"from {theirs.origin} and {ks.label} from {obj.origin}; they fight "
                        "over it, keep it in one of them",
                    )
                )  # fmt: skip
            owners.setdefault(key, (ks, obj))
        results.extend(failures or [CheckResult("duplicate", "pass", ks.file, ks.label)])
    return results
