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


def test_a_rename_takes_every_reference_along(to_212: Plan, initial: dict[str, bytes]) -> None:
    split = states(to_212, initial)[1]
    renamed = {
        # Flux Kustomization healthChecks, in both clusters
        "clusters/staging/infrastructure.yaml": "      name: linkerd\n      namespace: linkerd\n",
        "clusters/production/infrastructure.yaml": "      name: linkerd\n      namespace: linkerd\n",
        # another add-on's dependsOn, in its own Flux Kustomization
        "infrastructure/configs/ingress-nginx.yaml": "    - name: linkerd\n      namespace: linkerd\n",
        # an extension's dependsOn without a namespace (its kustomization gives it linkerd)
        f"{BASE}/viz.yaml": "    - name: linkerd\n",
        # `patches:` entry with a target, and an untargeted strategic-merge patch file
        "infrastructure/controllers/staging/kustomization.yaml": "      name: linkerd\n",
        "infrastructure/controllers/production/linkerd-ha.yaml": "  name: linkerd\n",
    }
    for path, old_line in renamed.items():
        before = _text(initial, path)
        assert old_line in before, path
        assert _text(split, path) == before.replace(
            old_line, old_line.replace("linkerd\n", "linkerd-control-plane\n", 1), 1
        ), path
    commit = to_212.commits[1]
    assert sorted(r.path for r in commit.reports if r.kind == "rename") == sorted(renamed)
    assert not any("git grep" in c for n in commit.notes for c in n.commands)


def test_overlay_patches_follow_the_edit(to_212: Plan, initial: dict[str, bytes]) -> None:
    after = states(to_212, initial)
    # the strategic-merge patch of staging renames the key the base renames
    assert _text(after[1], "infrastructure/controllers/staging/linkerd-values.yaml").endswith(
        "    # Staging also admits unmeshed clients of this cluster's nodes.\n"
        "    proxy:\n"
        "      defaultInboundPolicy: all-authenticated\n"
    )
    # production pins linkerd-viz in a JSON 6902 patch: the pin is raised there
    production = _text(after[3], "infrastructure/controllers/production/kustomization.yaml")
    assert production == _text(
        initial, "infrastructure/controllers/production/kustomization.yaml"
    ).replace('value: "2.11.5"', 'value: "30.3.8"')
    # and the mapping that patch adds into stays in the base, though the recipe emptied it
    assert "  values: {}\n" in _text(after[3], f"{BASE}/viz.yaml")


@pytest.fixture(scope="module")
def to_216() -> Plan:
    return make_plan(Workspace(ROOT), load_library(), PlanRequest(target="linkerd@enterprise-2.16"))


def test_namespaces_come_from_the_kustomization(to_216: Plan, initial: dict[str, bytes]) -> None:
    final = states(to_216, initial)[-1]
    for path, data in final.items():
        text = data.decode()
        assert "amespace: None" not in text and "amespace: null" not in text, path
    crds = _text(final, f"{BASE}/linkerd-crds.yaml")
    assert "  targetNamespace: linkerd\n" in crds and "  storageNamespace: linkerd\n" in crds
    gates = [c for commit in to_216.commits if commit.gate for c in commit.gate.check]
    assert not any("-n None" in c for c in gates)
    assert "flux get helmreleases -n linkerd linkerd" in gates
