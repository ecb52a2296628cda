from __future__ import annotations

from pathlib import Path

import pytest

from engine.recipe.loading import load_library
from engine.recipe.models import Selector
from engine.repo import selectors
from engine.repo.selectors import resolve, select
from engine.repo.workspace import Overlay, Workspace
from tests.helpers import RECIPES, build_tree


def flux_ks(name: str, path: str) -> str:
    return (
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n"
        f"metadata:\n  name: {name}\n  namespace: flux-system\n"
        f"spec:\n  interval: 10m\n  path: {path}\n  prune: true\n"
        "  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"
    )


def test_kustomizes_selector_indexes_path_lines_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 12: in an overlays layout the Flux Kustomization of an instance's folder lives
    # outside it (clusters/<c>/ vs infrastructure/clusters/<c>/), and each instance's
    # `kustomizes:` selector tested every Kustomization file of the fleet: N². Count.
    clusters = [f"c{n:03}" for n in range(120)]
    build_tree(
        tmp_path,
        {
            f"clusters/{c}/infrastructure.yaml": flux_ks(
                "infrastructure", f"./infrastructure/clusters/{c}"
            )
            for c in clusters
        },
    )
    component = load_library([RECIPES], include_bundled=False).components["meshy"].component
    overlay = Overlay(Workspace(tmp_path))
    read = 0
    original = selectors._path_lines

    def counting(text: str) -> list[str] | None:
        nonlocal read
        read += 1
        return original(text)

    monkeypatch.setattr(selectors, "_path_lines", counting)

    def parent(folder: str) -> list[str]:
        wanted = Selector.model_validate(
            {"kind": "Kustomization", "kustomizes": folder, "scope": "repo"}
        )
        docs = select(overlay, resolve(wanted, str), scope="infrastructure", component=component)
        return [d.path for d in docs]

    for c in clusters:
        assert parent(f"infrastructure/clusters/{c}/linkerd") == [f"clusters/{c}/infrastructure.yaml"]
    assert read == len(clusters)  # each file's path lines read once for 120 questions
    # A written file is indexed again, and only it.
    overlay.write_text(
        "clusters/c007/infrastructure.yaml", flux_ks("infrastructure", "./infrastructure")
    )
    overlay.delete("clusters/c008/infrastructure.yaml")
    assert parent("infrastructure/clusters/c008/linkerd") == ["clusters/c007/infrastructure.yaml"]
    assert parent("infrastructure/clusters/c009/linkerd") == [
        "clusters/c009/infrastructure.yaml"  # deepest wins over ./infrastructure
    ]
    assert read == len(clusters) + 1
