"""The effective HelmRelease of a rendering: chart, version and values after patches and
repo-held valuesFrom ConfigMaps, each with its origin."""

from __future__ import annotations

import copy
from pathlib import Path

from engine.repo.flux import build_model
from engine.repo.flux.resources import ValueOrigin
from engine.repo.workspace import Workspace
from tests.helpers import build_tree
from tests.test_flux_model import HR, flux_ks, sync

RELEASE = HR.format(meta="") + (
    "  valuesFrom:\n"
    "    - kind: ConfigMap\n      name: inline-values\n"
    "    - kind: ConfigMap\n      name: generated-values\n"
    "    - kind: Secret\n      name: identity\n      valuesKey: ca.crt\n"
    "      targetPath: identityTrustAnchorsPEM\n"
)

FILES = {
    "clusters/a/flux-system/gotk-sync.yaml": sync("a"),
    "clusters/a/infra.yaml": flux_ks("infra", "./infra/a"),
    "infra/base/kustomization.yaml": (
        "namespace: linkerd\nresources: [hr.yaml, cm.yaml]\n"
        "configMapGenerator:\n  - name: generated-values\n    files: [values.yaml=gen.yaml]\n"
        "generatorOptions: {disableNameSuffixHash: true}\n"
    ),
    "infra/base/hr.yaml": RELEASE,
    "infra/base/cm.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: inline-values\ndata:\n"
        "  values.yaml: |\n    policyController:\n      defaultAllowPolicy: cluster-authenticated\n"
        "    proxy:\n      logLevel: warn\n"
    ),
    "infra/base/gen.yaml": "proxy:\n  logLevel: error\n  cores: 2\n",
    "infra/a/kustomization.yaml": ("resources: [../base]\npatches:\n  - path: version.yaml\n"),
    "infra/a/version.yaml": (
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\n"
        "metadata: {name: linkerd, namespace: linkerd}\n"
        "spec:\n  chart:\n    spec:\n      version: 1.16.10\n  values:\n    ha: true\n"
    ),
}


def test_effective_release_after_patches_and_values_from(tmp_path: Path) -> None:
    model = build_model(Workspace(build_tree(tmp_path, FILES)))
    assert model.problems == []
    (rendering,) = model.renderings("infra/base/hr.yaml", 0)
    release = model.effective_release(rendering)
    assert (release.name, release.namespace, release.chart, release.version) == (
        "linkerd",
        "linkerd",
        "linkerd-control-plane",
        "1.16.10",
    )
    assert release.version_origin == ValueOrigin("infra/a/version.yaml", 0, "patch", "patches[0]")
    assert release.values == {
        "policyController": {"defaultAllowPolicy": "cluster-authenticated"},
        "proxy": {"logLevel": "info", "cores": 2},
        "ha": True,
    }
    cm = ValueOrigin("infra/base/cm.yaml", 0, "configmap", "data.values.yaml")
    gen = ValueOrigin("infra/base/gen.yaml", None, "generator", "values.yaml")
    assert release.origins == {
        ("policyController", "defaultAllowPolicy"): cm,
        ("proxy", "logLevel"): ValueOrigin("infra/base/hr.yaml", 0, "document"),
        ("proxy", "cores"): gen,
        ("ha",): ValueOrigin("infra/a/version.yaml", 0, "patch", "patches[0]"),
    }
    assert [(s.kind, s.name, s.key, s.target_path, s.found) for s in release.values_from] == [
        ("ConfigMap", "inline-values", "values.yaml", None, cm),
        ("ConfigMap", "generated-values", "values.yaml", None, gen),
        ("Secret", "identity", "ca.crt", "identityTrustAnchorsPEM", None),
    ]


def test_a_hashed_generated_name_is_matched_only_with_a_name_reference(tmp_path: Path) -> None:
    files = dict(FILES)
    files["infra/base/kustomization.yaml"] = (
        "namespace: linkerd\nresources: [hr.yaml]\n"
        "configMapGenerator:\n  - name: generated-values\n    files: [values.yaml=gen.yaml]\n"
    )
    model = build_model(Workspace(build_tree(tmp_path / "plain", files)))
    release = model.effective_release(model.renderings("infra/base/hr.yaml", 0)[0])
    assert [s.found for s in release.values_from] == [None, None, None]
    # a literal namespace (no namespace transformer copies the document) and an SMP on top
    files["infra/base/kustomization.yaml"] = (
        files["infra/base/kustomization.yaml"]
        .replace("namespace: linkerd\n", "")
        .replace("- name: generated-values\n", "- name: generated-values\n    namespace: linkerd\n")
        + "configurations: [namereference.yaml]\n"
    )
    files["infra/base/hr.yaml"] = RELEASE.replace("name: linkerd\n", "name: linkerd\n  namespace: linkerd\n", 1)
    files["infra/base/namereference.yaml"] = (
        "nameReference:\n  - kind: ConfigMap\n    version: v1\n    fieldSpecs:\n"
        "      - path: spec/valuesFrom/name\n        kind: HelmRelease\n"
    )
    workspace = Workspace(build_tree(tmp_path / "configured", files))
    before = copy.deepcopy(workspace.documents("infra/base/hr.yaml")[0].data)
    model = build_model(workspace)
    release = model.effective_release(model.renderings("infra/base/hr.yaml", 0)[0])
    assert release.rendering.data["spec"]["valuesFrom"][1]["name"] == "generated-values-mc5m4gc2k9"
    # the rewrite (and the namespace) went to the model's copy, never to the workspace's
    assert workspace.documents("infra/base/hr.yaml")[0].data == before
    assert release.values_from[1].found == ValueOrigin(
        "infra/base/gen.yaml", None, "generator", "values.yaml"
    )
    assert release.values["proxy"] == {"logLevel": "info", "cores": 2}
