"""Planning over tests/fixtures/flux-overlays (the flux2-kustomize-helm-example layout):
edits land where they belong, and phase pairs leave no churn."""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml

from engine.planning.planmodel import Plan
from engine.planning.planner import PlanRequest, make_plan
from engine.recipe.loading import load_library
from engine.repo.workspace import Workspace
from tests.checks.repostate import read_tree, walk
from tests.checks.scenarios import FIXTURES
from tests.k8s_tools import K8sTools

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


def _build_all(kubectl: Path, tree: Mapping[str, bytes], cache: dict[str, str]) -> list[str]:
    """`kubectl kustomize` of every Flux Kustomization path that has a kustomization file
    (Flux generates one for the cluster roots: plain manifests, nothing to build)."""
    paths = sorted(
        {
            str(doc["spec"]["path"]).removeprefix("./")
            for path, data in tree.items()
            if path.endswith(".yaml")
            for doc in yaml.safe_load_all(data)
            if isinstance(doc, dict)
            and doc.get("kind") == "Kustomization"
            and str(doc.get("apiVersion", "")).startswith("kustomize.toolkit.fluxcd.io/")
        }
    )
    failures = []
    for folder in paths:
        files = {p: b for p, b in tree.items() if p.startswith(folder.split("/")[0] + "/")}
        if f"{folder}/kustomization.yaml" not in files:
            continue
        key = hashlib.sha256(repr(sorted(files.items())).encode() + folder.encode()).hexdigest()
        if key not in cache:
            with tempfile.TemporaryDirectory() as tmp:
                for rel, data in files.items():
                    target = Path(tmp) / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(data)
                done = subprocess.run(
                    [str(kubectl), "kustomize", str(Path(tmp) / folder)],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                cache[key] = "" if done.returncode == 0 else done.stderr.strip()
        if cache[key]:
            failures.append(f"{folder}: {cache[key]}")
    return failures


def test_every_commit_keeps_every_flux_path_building(
    k8s_tools: K8sTools, to_212: Plan, to_216: Plan, initial: dict[str, bytes]
) -> None:
    cache: dict[str, str] = {}
    assert _build_all(k8s_tools.kubectl, initial, cache) == []
    for plan in (to_212, to_216):
        for number, tree in enumerate(states(plan, initial), 1):
            assert _build_all(k8s_tools.kubectl, tree, cache) == [], f"after commit {number}"
