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
