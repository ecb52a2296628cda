"""model.references: every place that names an object, for renames."""

from __future__ import annotations

from pathlib import Path

from engine.repo.flux import build_model
from engine.repo.workspace import Workspace
from tests.helpers import build_tree
from tests.test_flux_model import HR, flux_ks, sync

FILES = {
    "clusters/a/flux-system/gotk-sync.yaml": sync("a"),
    "clusters/a/infra.yaml": flux_ks(
        "infra",
        "./infra/a",
        "  healthChecks:\n"
        "    - apiVersion: helm.toolkit.fluxcd.io/v2\n      kind: HelmRelease\n"
        "      name: linkerd\n      namespace: linkerd\n"
        "    - apiVersion: helm.toolkit.fluxcd.io/v2\n      kind: HelmRelease\n"
        "      name: linkerd\n      namespace: elsewhere\n"
        "  patches:\n"
        "    - patch: '[{op: add, path: /spec/suspend, value: false}]'\n"
        "      target: {kind: HelmRelease, name: linkerd}\n",
    )
    + "---\n"
    + flux_ks("apps", "./apps", "  dependsOn:\n    - name: infra\n"),
    "apps/.keep.yaml": "",
    "infra/base/kustomization.yaml": "namespace: linkerd\nresources: [hr.yaml, viz.yaml]\n",
    "infra/base/hr.yaml": HR.format(meta="")
    + "  valuesFrom:\n    - kind: ConfigMap\n      name: linkerd-values\n",
    "infra/base/viz.yaml": (
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\n"
        "metadata:\n  name: linkerd-viz\nspec:\n  dependsOn:\n    - name: linkerd\n"
        "    - name: linkerd\n      namespace: other\n"
    ),
    "infra/a/kustomization.yaml": (
        "resources: [../base]\n"
        "patchesStrategicMerge: [p.yaml]\n"
        "patches:\n"
        "  - patch: |\n"
        "      apiVersion: helm.toolkit.fluxcd.io/v2\n"
        "      kind: HelmRelease\n"
        "      metadata: {name: linkerd, namespace: linkerd}\n"
        "      spec: {interval: 2h}\n"
        "patchesJson6902:\n"
        "  - target: {group: helm.toolkit.fluxcd.io, version: v2, kind: HelmRelease, "
        "name: 'linkerd.*'}\n"
        "    patch: '[{op: add, path: /spec/timeout, value: 5m}]'\n"
    ),
    "infra/a/p.yaml": (
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\n"
        "metadata:\n  name: linkerd\n  namespace: linkerd\nspec:\n  interval: 3h\n"
    ),
}


def test_references_to_a_helmrelease(tmp_path: Path) -> None:
    model = build_model(Workspace(build_tree(tmp_path, FILES)))
    assert model.problems == []
    found = model.references("HelmRelease", "linkerd", "linkerd")
    assert [(r.file, r.doc_index, r.field, r.via, r.line, r.inner) for r in found] == [
        ("clusters/a/infra.yaml", 0, ("spec", "healthChecks", 0, "name"), "healthChecks", 16, ()),
        (
            "clusters/a/infra.yaml",
            0,
            ("spec", "patches", 0, "target", "name"),
            "patch-target",
            24,
            (),
        ),
        (
            "infra/a/kustomization.yaml",
            0,
            ("patches", 0, "patch"),
            "patch-name",
            4,
            ("metadata", "name"),
        ),
        (
            "infra/a/kustomization.yaml",
            0,
            ("patchesJson6902", 0, "target", "name"),
            "patch-target",
            10,
            (),
        ),
        ("infra/a/p.yaml", 0, ("metadata", "name"), "patch-name", 4, ()),
        # the dependsOn without namespace: the referrer's effective namespace is linkerd
        ("infra/base/viz.yaml", 0, ("spec", "dependsOn", 0, "name"), "dependsOn", 7, ()),
    ]
    everywhere = model.references("HelmRelease", "linkerd")
    assert len(everywhere) == len(found) + 2  # + namespace elsewhere, other


def test_references_to_a_kustomization_and_a_configmap(tmp_path: Path) -> None:
    model = build_model(Workspace(build_tree(tmp_path, FILES)))
    deps = model.references("Kustomization", "infra", "flux-system")
    assert [(r.file, r.doc_index, r.field, r.line) for r in deps] == [
        ("clusters/a/infra.yaml", 1, ("spec", "dependsOn", 0, "name"), 39)
    ]
    values = model.references("ConfigMap", "linkerd-values", "linkerd")
    assert [(r.file, r.field, r.via) for r in values] == [
        ("infra/base/hr.yaml", ("spec", "valuesFrom", 0, "name"), "valuesFrom")
    ]
    sources = model.references("HelmRepository", "linkerd", "flux-system")
    assert [(r.file, r.field, r.via) for r in sources] == [
        ("infra/base/hr.yaml", ("spec", "chart", "spec", "sourceRef", "name"), "sourceRef")
    ]
