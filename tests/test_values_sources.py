"""Values ops follow the values into repo-held valuesFrom sources (engine/recipe/values_sources.py)."""

from __future__ import annotations

from pathlib import Path

from engine.planning.planmodel import Plan
from engine.planning.planner import PlanRequest, make_plan
from engine.recipe.loading import load_library
from engine.repo.valuesfrom import value_sources
from engine.repo.workspace import Overlay, Workspace
from tests.helpers import build_tree

RELEASE = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: linkerd
  namespace: linkerd
spec:
  interval: 1h
  chart:
    spec:
      chart: linkerd2
      version: "2.11.5"
      sourceRef:
        kind: HelmRepository
        name: linkerd
  valuesFrom:
    - kind: ConfigMap
      name: linkerd-values
    - kind: ConfigMap
      name: linkerd-extra
    - kind: Secret
      name: linkerd-private
    - kind: Secret
      name: linkerd-identity
      valuesKey: ca.crt
      targetPath: identityTrustAnchorsPEM
"""

CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: linkerd-values
  namespace: linkerd
data:
  values.yaml: |
    # Reviewed by the platform team.
    identity.issuer.crtExpiry: "2030-01-01T00:00:00Z"
    policyController:
      # Meshed pods only accept traffic from this cluster.
      defaultAllowPolicy: cluster-authenticated
    proxy:
      logLevel: warn   # quiet

    enableH2Upgrade: true
"""

EXTRA = """\
# Generated into ConfigMap linkerd-extra by the kustomization next to this file.
installNamespace: false
controllerReplicas: 2
"""

KUSTOMIZATION = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - source.yaml
  - release.yaml
  - values.yaml
configMapGenerator:
  - name: linkerd-extra
    namespace: linkerd
    files:
      - values.yaml=extra-values.yaml
"""

SOURCE = """\
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: linkerd
  namespace: linkerd
spec:
  interval: 1h
  url: https://helm.linkerd.io/stable
"""


def _repo(root: Path) -> Path:
    return build_tree(
        root,
        {
            "linkerd/kustomization.yaml": KUSTOMIZATION,
            "linkerd/source.yaml": SOURCE,
            "linkerd/release.yaml": RELEASE,
            "linkerd/values.yaml": CONFIGMAP,
            "linkerd/extra-values.yaml": EXTRA,
        },
    )


def _plan(root: Path) -> Plan:
    return make_plan(Workspace(root), load_library(), PlanRequest(target="linkerd@stable-2.12"))


def _final(plan: Plan, path: str) -> str:
    content = None
    for commit in plan.commits:
        for change in commit.changes:
            if change.path == path:
                content = change.content
    assert content is not None, f"{path} was not changed"
    return content.decode()


def test_sources_are_located_in_order(tmp_path: Path) -> None:
    _repo(tmp_path)
    overlay = Overlay(Workspace(tmp_path))
    release = overlay.documents("linkerd/release.yaml")[0]
    found = [
        (s.label, s.path, s.index, s.generator, s.problem)
        for s in value_sources(overlay, release, ".")
    ]
    assert found == [
        ("ConfigMap/linkerd-values key values.yaml", "linkerd/values.yaml", 0, None, None),
        (
            "ConfigMap/linkerd-extra key values.yaml",
            "linkerd/extra-values.yaml",
            None,
            "linkerd/kustomization.yaml",
            None,
        ),
        (
            "Secret/linkerd-private key values.yaml",
            None,
            None,
            None,
            "not found in the repo (looked in .)",
        ),
        (
            "Secret/linkerd-identity key ca.crt",
            None,
            None,
            None,
            "not found in the repo (looked in .)",
        ),
    ]


def test_inline_configmap_block_is_edited_in_place(tmp_path: Path) -> None:
    plan = _plan(_repo(tmp_path))
    # the dotted literal key is dropped like its nested form; the renamed key keeps its
    # value (no fallback to the chart default all-unauthenticated); every other line stays
    assert _final(plan, "linkerd/values.yaml") == CONFIGMAP.replace(
        '    identity.issuer.crtExpiry: "2030-01-01T00:00:00Z"\n', ""
    ).replace(
        "    policyController:\n"
        "      # Meshed pods only accept traffic from this cluster.\n"
        "      defaultAllowPolicy: cluster-authenticated\n",
        "",
    ).replace(
        "      logLevel: warn   # quiet\n",
        "      logLevel: warn   # quiet\n      defaultInboundPolicy: cluster-authenticated\n",
    )


def test_generator_values_file_is_edited(tmp_path: Path) -> None:
    plan = _plan(_repo(tmp_path))
    assert _final(plan, "linkerd/extra-values.yaml") == EXTRA.replace(
        "installNamespace: false\n", ""
    )


def test_drops_are_reported_and_secrets_become_manual_steps(tmp_path: Path) -> None:
    plan = _plan(_repo(tmp_path))
    split = next(c for c in plan.commits if c.phase == "split")
    values = [(r.path, r.message) for r in split.reports if r.kind == "values"]
    assert (
        "linkerd/extra-values.yaml",
        "ConfigMap linkerd-extra (values.yaml): removed /installNamespace (was: false) "
        "(removed in linkerd-control-plane; Helm installs no longer render the Namespace "
        "(linkerd-crds creates it))",
    ) in values
    assert any(
        p == "linkerd/values.yaml"
        and "removed /identity/issuer/crtExpiry (was: 2030-01-01T00:00:00Z)" in m
        for p, m in values
    )
    assert "What this commit removes or moves:" in split.body
    titles = [n.title for n in split.notes]
    assert "Edit the values in Secret/linkerd-private key values.yaml by hand" in titles
    # the targetPath Secret sets identityTrustAnchorsPEM, which no op touches: no step
    assert not any("linkerd-identity" in t for t in titles)
    note = next(n for n in split.notes if "linkerd-private" in n.title)
    assert "remove `installNamespace`" in note.text
    assert (
        "rename `policyController.defaultAllowPolicy` to `proxy.defaultInboundPolicy`" in note.text
    )


def test_replanning_after_the_edits_is_a_noop(tmp_path: Path) -> None:
    from engine.output.apply import apply_plan

    root = _repo(tmp_path)
    apply_plan(root, _plan(root), allow_dirty=True)
    assert not _plan(root).has_changes
