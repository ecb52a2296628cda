"""The control plane depends on linkerd2-cni, never the reverse (issue 10, finding 2).

The CNI is installed before the control plane (WEB:2.12/features/cni.md), and from 2.13
the control-plane pods run a network-validator init container that needs it: a CNI
HelmRelease that waits for the control plane deadlocks a fresh or disaster-recovery
bootstrap. The 2.12 reinstall must not write that dependency, and the 2.13 hop repairs a
repo that has it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.planning.planner import PlanRequest, make_plan
from engine.recipe.loading import Library, load_library
from engine.repo.workspace import Workspace
from tests.checks.repostate import all_releases, final_state, walk
from tests.checks.scenarios import SCENARIOS, run
from tests.helpers import build_tree


@pytest.fixture(scope="module")
def library() -> Library:
    return load_library()


def depends_on(release: dict[str, Any]) -> list[str]:
    return [d["name"] for d in release.get("spec", {}).get("dependsOn") or []]


def test_reinstalled_cni_does_not_wait_for_the_control_plane(library: Library) -> None:
    scenario = next(s for s in SCENARIOS if s.id == "per-cluster-copies/stable-2.14")
    outcome = run(scenario, library)
    assert outcome.plan is not None
    seen = []
    for step in walk(outcome.plan, outcome.initial):
        releases = all_releases(prod(step.after))
        cni = releases.get(("flux-system", "linkerd2-cni"))
        control_plane = releases.get(("flux-system", "linkerd-control-plane"))
        touched = any(c.path.startswith("clusters/prod/") for c in step.commit.changes)
        if cni is None or control_plane is None or not touched:
            continue
        assert "linkerd-control-plane" not in depends_on(cni.data), step.commit.phase
        seen.append((step.commit.phase, depends_on(control_plane.data)))
    # The dependency appears with the reinstalled CNI and stays on every later hop.
    assert seen == [
        ("split", ["linkerd-crds"]),
        ("extensions-reinstall", ["linkerd-crds", "linkerd2-cni"]),
        ("control-plane", ["linkerd-crds", "linkerd2-cni"]),
        ("extensions", ["linkerd-crds", "linkerd2-cni"]),
        ("control-plane", ["linkerd-crds", "linkerd2-cni"]),
        ("extensions", ["linkerd-crds", "linkerd2-cni"]),
    ]
    final = all_releases(prod(final_state(outcome.plan, outcome.initial)))
    cni = final[("flux-system", "linkerd2-cni")]
    assert cni.data["spec"]["values"]["image"] == {
        "name": "registry.example.internal/linkerd/cni-plugin",
        "version": "v1.3.0",
    }


def prod(state: dict[str, bytes]) -> dict[str, bytes]:
    """Only clusters/prod (the one cluster of the fixture with linkerd2-cni)."""
    return {p: b for p, b in state.items() if p.startswith("clusters/prod/")}


_CONTROL_PLANE = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: linkerd-control-plane
  namespace: linkerd
spec:
  interval: 30m
  releaseName: linkerd-control-plane
  dependsOn:
    - name: linkerd-crds
  chart:
    spec:
      chart: linkerd-control-plane
      version: "1.9.8"
      sourceRef: {kind: HelmRepository, name: linkerd, namespace: flux-system}
  values:
    cniEnabled: true
"""

_CNI = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: linkerd2-cni
  namespace: linkerd
spec:
  interval: 30m
  dependsOn:
    - name: linkerd-control-plane
  chart:
    spec:
      chart: linkerd2-cni
      version: "30.3.8"
      sourceRef: {kind: HelmRepository, name: linkerd, namespace: flux-system}
  values:
    image:
      version: v1.1.1
"""


@pytest.mark.parametrize(
    ("control_plane", "expected"),
    [
        (_CONTROL_PLANE, [{"name": "linkerd-crds"}, {"name": "linkerd2-cni"}]),
        (
            _CONTROL_PLANE.replace("  dependsOn:\n    - name: linkerd-crds\n", ""),
            [{"name": "linkerd2-cni"}],
        ),
    ],
    ids=["appended", "created"],
)
def test_the_213_hop_reverses_a_cni_that_waits_for_the_control_plane(
    library: Library, tmp_path: Path, control_plane: str, expected: list[dict[str, str]]
) -> None:
    files = {"linkerd/control-plane.yaml": control_plane, "linkerd/cni.yaml": _CNI}
    root = build_tree(tmp_path / "repo", files)
    plan = make_plan(Workspace(root), library, PlanRequest(target="linkerd@stable-2.13"))
    steps = list(walk(plan, {p: (root / p).read_bytes() for p in files}))
    first = all_releases(steps[0].after)  # the control-plane commit: both directions at once
    assert "dependsOn" not in first[("linkerd", "linkerd2-cni")].spec
    assert first[("linkerd", "linkerd-control-plane")].spec["dependsOn"] == expected
    final = all_releases(steps[-1].after)
    assert final[("linkerd", "linkerd2-cni")].data["spec"]["values"]["image"]["version"] == "v1.2.2"
