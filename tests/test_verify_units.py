"""engine/verify modules that need no external tool: trees, build closures, the
kustomization Flux generates, postBuild substitution, effective values, chart lookup,
references."""

from __future__ import annotations

import base64
from pathlib import Path

from engine.verify import build as kbuild
from engine.verify.charts import ChartIndex
from engine.verify.discovery import FluxKustomization, Obj
from engine.verify.references import check_references
from engine.verify.substitute import substitute
from engine.verify.tree import Tree, spec_path
from engine.verify.values import PLACEHOLDER, effective_values
from tests.checks.shared import REPO
from tests.helpers import build_tree

CHARTS = REPO / "third_party" / "shared" / "charts" / "linkerd"


def test_tree_lists_folders_and_layers_changes() -> None:
    tree = Tree.of_files({"a/x": b"1", "a/b/y": b"2", "ab/z": b"3", "c": b"4"})
    assert tree.under("a") == ["a/b/y", "a/x"]
    assert tree.is_dir("a/b") and not tree.is_dir("a/x") and tree.exists("ab/z")
    after = tree.layered({"a/x": None, "a/n": b"5"})
    assert after.under("a") == ["a/b/y", "a/n"] and tree.under("a") == ["a/b/y", "a/x"]
    assert after.read("a/n") == b"5"
    assert spec_path("./clusters/prod/") == "clusters/prod" and spec_path("./") == "."


def test_closure_follows_kustomization_references_only() -> None:
    overlay = (
        "resources: [../base, extra.yaml]\npatches:\n  - path: p.yaml\n"
        "secretGenerator:\n  - name: s\n    envs: [id.env]\n    files: [k=../keys/key.pem]\n"
    )
    tree = Tree.of_files(
        {
            "overlay/kustomization.yaml": overlay.encode(),
            "overlay/extra.yaml": b"",
            "overlay/p.yaml": b"",
            "overlay/id.env": b"",
            "overlay/unused.yaml": b"",
            "keys/key.pem": b"",
            "base/kustomization.yaml": b"resources: [hr.yaml]\n",
            "base/hr.yaml": b"",
            "base/README.md": b"",
        }
    )
    assert kbuild.closure(tree, "overlay") == [
        "base/hr.yaml",
        "base/kustomization.yaml",
        "keys/key.pem",
        "overlay/extra.yaml",
        "overlay/id.env",
        "overlay/kustomization.yaml",
        "overlay/p.yaml",
    ]


def test_generated_kustomization_lists_yaml_files_and_kustomized_folders() -> None:
    tree = Tree.of_files(
        {
            "c/a.yaml": b"",
            "c/notes.txt": b"",
            "c/flux-system/kustomization.yaml": b"resources: [gotk-sync.yaml]\n",
            "c/flux-system/gotk-sync.yaml": b"",
            "c/flux-system/stray.yaml": b"",
            "c/apps/b.yml": b"",
        }
    )
    ks = FluxKustomization("c/x.yaml", {"spec": {"path": "./c", "targetNamespace": "t"}})
    root = kbuild._root_kustomization(tree, "c", ks)
    assert root == {
        "resources": ["./a.yaml", "./apps/b.yml", "./flux-system"],
        "namespace": "t",
        "buildMetadata": ["originAnnotations"],
    }
    assert kbuild.closure(tree, "c") == [
        "c/a.yaml",
        "c/apps/b.yml",
        "c/flux-system/gotk-sync.yaml",
        "c/flux-system/kustomization.yaml",
        "c/notes.txt",
    ]


def test_substitute_like_flux() -> None:
    text = "a: ${x}\nb: ${y:=dflt}\nc: $${x}\nd: ${missing}\ne: ${z:-}\n"
    assert substitute(text, {"x": "1", "z": ""}) == (
        "a: 1\nb: dflt\nc: ${x}\nd: ${missing}\ne: \n",
        ["missing"],
    )
    assert substitute(text, {}) == (text, [])  # no variable defined: nothing is touched


def test_effective_values_order_placeholders_and_notes() -> None:
    objects = {
        ("ConfigMap", "ns", "base"): {"data": {"values.yaml": "a: 1\nb: {c: 2, d: 3}\n"}},
        ("Secret", "ns", "plain"): {"data": {"k": base64.b64encode(b"PEM").decode()}},
        ("Secret", "ns", "sops"): {"data": {"k": "ENC[...]"}, "sops": {"age": []}},
    }
    release = {
        "spec": {
            "valuesFrom": [
                {"kind": "ConfigMap", "name": "base"},
                {"kind": "Secret", "name": "plain", "valuesKey": "k", "targetPath": "x.pem"},
                {"kind": "Secret", "name": "sops", "valuesKey": "k", "targetPath": "y\\.z"},
                {"kind": "Secret", "name": "absent", "valuesKey": "k", "optional": True},
            ],
            "values": {"b": {"c": 9}},
        }
    }
    got = effective_values(release, "ns", lambda k, n, name: objects.get((k, n, name)))
    assert got.values == {"a": 1, "b": {"c": 9, "d": 3}, "x": {"pem": "PEM"}, "y.z": PLACEHOLDER}
    assert got.notes == [
        "valuesFrom Secret ns/sops key k: SOPS-encrypted or not readable; rendered with a placeholder",
        "valuesFrom Secret ns/absent key k: not in the repo, optional, left out",
    ]
    assert got.problems == []


def test_chart_index_picks_the_version_flux_would() -> None:
    index = ChartIndex([CHARTS])
    found = index.find("linkerd-control-plane", "1.x")
    assert found is not None and found.version == "1.16.11"
    exact = index.find("linkerd-control-plane", "1.12.7")
    assert (
        exact is not None
        and exact.path == CHARTS / "stable-2.13.7" / "linkerd-control-plane-1.12.7.tgz"
    )
    assert index.find("linkerd-control-plane", "2.x") is None
    assert not index.knows("linkerd-enterprise-control-plane")


def _obj(origin: str, kind: str, ns: str, name: str, spec: dict[str, object]) -> Obj:
    group = "kustomize" if kind == "Kustomization" else "helm"
    data = {
        "apiVersion": f"{group}.toolkit.fluxcd.io/v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    }
    return Obj(origin, data)


def test_references_resolve_in_the_cluster() -> None:
    objects = [
        _obj("a.yaml", "Kustomization", "flux-system", "infra", {}),
        _obj(
            "a.yaml",
            "Kustomization",
            "flux-system",
            "apps",
            {
                "dependsOn": [{"name": "infra"}, {"name": "gone"}],
                "healthChecks": [
                    {
                        "apiVersion": "helm.toolkit.fluxcd.io/v2",
                        "kind": "HelmRelease",
                        "name": "hr",
                        "namespace": "x",
                    },
                    {
                        "apiVersion": "helm.toolkit.fluxcd.io/v2",
                        "kind": "HelmRelease",
                        "name": "hr",
                    },
                    {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d", "namespace": "x"},
                ],
            },
        ),
        _obj("hr.yaml", "HelmRelease", "x", "hr", {"dependsOn": [{"name": "crds"}]}),
    ]
    results = [(r.status, r.path, r.message) for r in check_references(objects)]
    assert results == [
        ("pass", "a.yaml", ""),
        (
            "fail",
            "a.yaml",
            "dependsOn Kustomization flux-system/gone: no such Kustomization in this cluster",
        ),
        ("pass", "a.yaml", ""),
        (
            "fail",
            "a.yaml",
            "healthChecks HelmRelease hr: no namespace (Flux does not default it, the check never passes)",
        ),
        ("fail", "hr.yaml", "dependsOn HelmRelease x/crds: no such HelmRelease in this cluster"),
    ]


def test_sources_must_be_in_the_cluster_with_the_referrers_namespace_by_default() -> None:
    def hr(name: str, spec: dict[str, object]) -> Obj:
        return Obj(f"{name}.yaml", {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
                                    "metadata": {"name": name, "namespace": "linkerd"}, "spec": spec})  # fmt: skip

    def source(kind: str, name: str, namespace: str) -> Obj:
        return Obj("src.yaml", {"kind": kind, "metadata": {"name": name, "namespace": namespace}})

    chart = {"chart": {"spec": {"chart": "x", "sourceRef": {"kind": "HelmRepository", "name": "repo"}}}}
    objects = [
        source("HelmRepository", "repo", "flux-system"),
        source("OCIRepository", "oci", "linkerd"),
        hr("defaulted", chart),  # no namespace: the HelmRelease's own (linkerd), not flux-system
        hr("oci", {"chartRef": {"kind": "OCIRepository", "name": "oci"}}),
        hr("chart", {"chartRef": {"kind": "HelmChart", "name": "c", "namespace": "flux-system"}}),
        Obj("ks.yaml", {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
                        "metadata": {"name": "apps", "namespace": "flux-system"},
                        "spec": {"sourceRef": {"kind": "GitRepository", "name": "flux-system"}}}),
    ]  # fmt: skip
    results = [(r.status, r.path, r.message) for r in check_references(objects)]
    assert results == [
        ("fail", "defaulted.yaml",
         "chart.spec.sourceRef HelmRepository linkerd/repo: no such HelmRepository in this cluster"),
        ("pass", "oci.yaml", ""),
        ("fail", "chart.yaml",
         "chartRef HelmChart flux-system/c: no such HelmChart in this cluster"),
        ("fail", "ks.yaml",
         "sourceRef GitRepository flux-system/flux-system: no such GitRepository in this cluster"),
    ]  # fmt: skip
    # The GitRepository `flux bootstrap` made for a cluster whose sync files are not in the repo.
    outside = [("GitRepository", "flux-system", "flux-system")]
    assert [r.status for r in check_references(objects, outside) if r.path == "ks.yaml"] == ["pass"]


def test_the_state_before_any_commit_reuses_the_planners_model(tmp_path: Path) -> None:
    """Counts builds, not time (issue 12): `plan --verify` verifies the repo as it is with
    the model the planner built, and builds one more only for a changed state."""
    from engine.repo.flux.model import BUILDS, model_for
    from engine.repo.workspace import Workspace
    from engine.verify.options import VerifyOptions
    from engine.verify.tools import Tool
    from engine.verify.tree import Tree
    from engine.verify.verifier import verify_tree

    app = "clusters/a/app.yaml"
    build_tree(tmp_path, {app: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"})
    workspace = Workspace(tmp_path)
    options = VerifyOptions(kustomize=Tool(None, "not here"), helm=Tool(None, "not here"))
    model_for(workspace)
    before = BUILDS[0]
    verify_tree(Tree(workspace), options)
    assert BUILDS[0] == before
    changed = Tree(workspace).layered({app: b"kind: ConfigMap\nmetadata:\n  name: b\n"})
    verify_tree(changed, options)
    assert BUILDS[0] == before + 1
