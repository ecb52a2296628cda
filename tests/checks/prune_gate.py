"""Check (e): a commit that uninstalls by deleting a HelmRelease from Git needs pruning on.

helm-controller uninstalls a release when its HelmRelease object is deleted while not
suspended (linkerd.md §7.4); from Git that deletion is done by kustomize-controller's
garbage collection, which only runs when the Flux Kustomization that applies the file has
`spec.prune: true` (flux.md, linkerd.md errata "Prune"). With `prune: false` the object
stays in the cluster: the "it is gone" gate can never pass, and re-adding the HelmRelease
with a new targetNamespace later changes a live release (an uninstall racing a terminating
namespace). Suspended objects are exempt: removing them from Git is meant to forget them.
"""

from __future__ import annotations

import posixpath
from typing import Any

from engine.planning.planmodel import Plan
from tests.checks.repostate import load_documents, releases_in, walk

_FLUX = "kustomize.toolkit.fluxcd.io/"


def flux_kustomizations(tree: dict[str, bytes]) -> list[tuple[str, str, bool]]:
    """(name, normalised spec.path, prune) of every Flux Kustomization in the tree."""
    found = []
    for path, data in sorted(tree.items()):
        if not path.endswith((".yaml", ".yml")) or b"kind: Kustomization" not in data:
            continue
        for doc in load_documents(path, data):
            if not _is_flux_kustomization(doc):
                continue
            spec = doc.get("spec") or {}
            target = posixpath.normpath(str(spec.get("path") or ".").lstrip("/"))
            found.append((str(doc["metadata"]["name"]), target, bool(spec.get("prune"))))
    return found


def _is_flux_kustomization(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and doc.get("kind") == "Kustomization"
        and str(doc.get("apiVersion", "")).startswith(_FLUX)
    )


def applier(kustomizations: list[tuple[str, str, bool]], path: str) -> tuple[str, bool] | None:
    """The Flux Kustomization whose path is the deepest folder at or above `path`."""
    folder = posixpath.dirname(path) or "."
    best: tuple[int, str, bool] | None = None
    for name, target, prune in kustomizations:
        if target == "." or folder == target or folder.startswith(target + "/"):
            depth = 0 if target == "." else target.count("/") + 1
            if best is None or depth > best[0]:
                best = (depth, name, prune)
    return None if best is None else (best[1], best[2])


def check_plan(plan: Plan, initial: dict[str, bytes]) -> list[str]:
    problems = []
    for step in walk(plan, initial):
        kustomizations = flux_kustomizations(step.before)  # in effect when Flux applies it
        for change in step.commit.changes:
            before = {r.key: r for r in releases_in(change.path, step.before.get(change.path))}
            after = {r.key for r in releases_in(change.path, change.content)}
            for key, release in sorted(before.items()):
                if key in after or release.spec.get("suspend") is True:
                    continue
                owner = applier(kustomizations, change.path)
                if owner is not None and not owner[1]:
                    problems.append(
                        f"commit {step.index + 1} ({step.commit.recipe}/{step.commit.phase}): "
                        f"deletes {release.label} to uninstall it, but Flux Kustomization "
                        f"{owner[0]} has prune: false, so the object stays in the cluster"
                    )
    return problems
