"""A rename follows its references; a name pattern it cannot rewrite is a manual step."""

from __future__ import annotations

from pathlib import Path

from engine.planning.planner import PlanRequest, make_plan
from engine.recipe.loading import load_library
from engine.repo.workspace import Workspace
from tests.checks.repostate import read_tree
from tests.checks.scenarios import FIXTURES
from tests.helpers import build_tree


def test_a_regex_patch_target_that_stops_matching_is_a_manual_step(tmp_path: Path) -> None:
    files = {p: b for p, b in read_tree(FIXTURES / "flux-overlays").items()}
    staging = "infrastructure/controllers/staging/kustomization.yaml"
    files[staging] = files[staging].replace(b"      name: linkerd\n", b"      name: linkerd$\n")
    build_tree(tmp_path, files)
    plan = make_plan(Workspace(tmp_path), load_library(), PlanRequest(target="linkerd@stable-2.12"))
    split = plan.commits[1]
    assert staging not in [c.path for c in split.changes]
    notes = [n for n in split.notes if n.title.startswith(f"Point {staging}")]
    assert [n.title for n in notes] == [f"Point {staging}:9 at HelmRelease linkerd-control-plane"]
    assert "its name pattern `linkerd$` no longer matches" in notes[0].text


def test_a_rename_searches_only_its_own_clusters_files(tmp_path: Path, monkeypatch) -> None:
    # Issue 12: each cluster's rename (linkerd -> linkerd-control-plane) searched every
    # kustomization file and HelmRelease of the repo for references: quadratic in a fleet
    # (60 s of a 500-cluster split). Each search now reads only its own cluster's files.
    from engine.repo.flux import references
    from tests.helpers import generated_fleet

    generated_fleet(tmp_path, 6)
    searched: list[tuple[str, set[str]]] = []
    real_find = references.find_references

    def find(model, reader, kind, name, namespace=None):  # type: ignore[no-untyped-def]
        read: set[str] = set()
        real_docs = references._docs

        def docs(reader_, path):  # type: ignore[no-untyped-def]
            read.add(path)
            return real_docs(reader_, path)

        monkeypatch.setattr(references, "_docs", docs)
        try:
            return real_find(model, reader, kind, name, namespace)
        finally:
            monkeypatch.setattr(references, "_docs", real_docs)
            searched.append((name, read))

    monkeypatch.setattr(references, "find_references", find)
    plan = make_plan(Workspace(tmp_path), load_library(), PlanRequest(target="linkerd@stable-2.12"))
    assert [name for name, _ in searched] == ["linkerd"] * 6
    clusters = [{path.split("/")[1] for path in read} for _, read in searched]
    assert clusters == [{f"cluster-{n}"} for n in range(6)]
    renamed = [c.path for c in plan.commits[1].changes if c.path.endswith("helmrelease.yaml")]
    assert renamed == [f"clusters/cluster-{n}/linkerd/helmrelease.yaml" for n in range(6)]
