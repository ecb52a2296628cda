"""Planning over tests/fixtures/flux-overlays (the flux2-kustomize-helm-example layout):
edits land where they belong, and phase pairs leave no churn."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from engine.planning.planmodel import Plan
from engine.planning.planner import PlanRequest, make_plan
from engine.recipe.loading import load_library
from engine.repo.workspace import Workspace
from tests.checks.repostate import read_tree, walk
from tests.checks.scenarios import FIXTURES

ROOT = FIXTURES / "flux-overlays"
BASE = "infrastructure/controllers/base/linkerd"


@pytest.fixture(scope="module")
def initial() -> dict[str, bytes]:
    return read_tree(ROOT)


@pytest.fixture(scope="module")
def to_212() -> Plan:
    return make_plan(Workspace(ROOT), load_library(), PlanRequest(target="linkerd@stable-2.12"))


def states(plan: Plan, initial: Mapping[str, bytes]) -> list[dict[str, bytes]]:
    """The repo's files after each commit."""
    return [step.after for step in walk(plan, dict(initial))]


def _text(tree: Mapping[str, bytes], path: str) -> str:
    return tree[path].decode()


def test_uninstall_then_reinstall_puts_the_entry_back_as_it_was(
    to_212: Plan, initial: dict[str, bytes]
) -> None:
    phases = [c.phase for c in to_212.commits]
    assert phases[:4] == ["suspend", "split", "extensions-uninstall", "extensions-reinstall"]
    after = states(to_212, initial)
    kustomization = f"{BASE}/kustomization.yaml"
    original = _text(initial, kustomization)
    assert "  - viz.yaml # dashboards, on every cluster\n" not in _text(after[2], kustomization)
    # back at its place, with its comment; the only net change is the new linkerd-crds entry
    assert _text(after[3], kustomization) == original.replace(
        "  - viz-values.yaml\n", "  - viz-values.yaml\n  - linkerd-crds.yaml\n"
    )


def test_recreated_release_keeps_the_comments_of_the_one_it_replaces(
    to_212: Plan, initial: dict[str, bytes]
) -> None:
    viz = _text(states(to_212, initial)[3], f"{BASE}/viz.yaml")
    assert viz.startswith(
        "# The viz dashboard; its values live in ConfigMap linkerd-viz-values (viz-values.yaml).\n"
        "apiVersion: helm.toolkit.fluxcd.io/v2\n"
    )
    assert (
        "      # renovate: datasource=helm depName=linkerd-viz "
        "registryUrl=https://helm.linkerd.io/stable\n"
        '      version: "30.3.8"\n'
    ) in viz


def test_renovate_markers_follow_the_chart(to_212: Plan, initial: dict[str, bytes]) -> None:
    split = states(to_212, initial)[1]
    assert (
        "      chart: linkerd-control-plane\n"
        "      # renovate: datasource=helm depName=linkerd-control-plane "
        "registryUrl=https://helm.linkerd.io/stable\n"
        '      version: "1.9.8"\n'
    ) in _text(split, f"{BASE}/release.yaml")
    assert (
        "      chart: linkerd-crds\n"
        "      # renovate: datasource=helm depName=linkerd-crds "
        "registryUrl=https://helm.linkerd.io/stable\n"
        '      version: "1.4.0"\n'
    ) in _text(split, f"{BASE}/linkerd-crds.yaml")
