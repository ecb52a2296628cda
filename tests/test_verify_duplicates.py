"""engine/verify/duplicates.py: one object defined twice in what a cluster receives, in one
build (two apiVersions of one object) or by two Flux Kustomizations; and end to end, both
planted in a copy of the bundled example."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engine.cli import main
from engine.verify.discovery import FluxKustomization, Obj
from engine.verify.duplicates import api_group, check_duplicates
from tests.checks.shared import REPO
from tests.k8s_tools import K8sTools


def _repo(name: str, version: str, origin: str) -> Obj:
    data = {"apiVersion": f"source.toolkit.fluxcd.io/{version}", "kind": "HelmRepository",
            "metadata": {"name": name, "namespace": "flux-system"}}  # fmt: skip
    return Obj(origin, data)


def _ks(name: str) -> FluxKustomization:
    return FluxKustomization(
        "c/addons.yaml", {"kind": "Kustomization", "metadata": {"name": name, "namespace": "flux-system"},
                          "spec": {"path": f"./c/{name}"}},
    )  # fmt: skip


def test_api_group_of_core_and_grouped_versions() -> None:
    assert api_group("v1") == "" and api_group("source.toolkit.fluxcd.io/v1beta2") == (
        "source.toolkit.fluxcd.io"
    )


def test_two_versions_of_one_object_in_one_build_fail_naming_both_files() -> None:
    base = _ks("base")
    results = check_duplicates(
        [(base, [_repo("buoyant", "v1", "c/base/a.yaml"), _repo("buoyant", "v1beta2", "c/base/b.yaml"),
                 _repo("linkerd", "v1", "c/base/a.yaml")])]
    )  # fmt: skip
    assert [(r.status, r.path, r.subject, r.message) for r in results] == [
        ("fail", "c/base/b.yaml", "HelmRepository flux-system/buoyant",
         "defined twice in the build of Kustomization flux-system/base (path ./c/base): "
         "c/base/a.yaml (source.toolkit.fluxcd.io/v1) and c/base/b.yaml "
         "(source.toolkit.fluxcd.io/v1beta2); the cluster has one object, keep one definition"),
    ]  # fmt: skip


def test_one_object_from_two_kustomizations_fails_and_distinct_ones_pass() -> None:
    base, apps = _ks("base"), _ks("apps")
    results = check_duplicates(
        [(base, [_repo("linkerd", "v1", "c/base/r.yaml")]),
         (apps, [_repo("linkerd", "v1", "c/apps/r.yaml"), _repo("other", "v1", "c/apps/r.yaml")])]
    )  # fmt: skip
    assert [(r.status, r.path) for r in results] == [
        ("pass", "c/addons.yaml"),
        ("fail", "c/apps/r.yaml"),
    ]
    assert results[1].message == (
        "applied by two Flux Kustomizations of this cluster: Kustomization flux-system/base "
        "(path ./c/base) from c/base/r.yaml and Kustomization flux-system/apps (path ./c/apps) "
        "from c/apps/r.yaml; they fight over it, keep it in one of them"
    )
    # A different kind or namespace of the same name is another object.
    other = Obj("c/apps/s.yaml", {"apiVersion": "v1", "kind": "Secret",
                                  "metadata": {"name": "linkerd", "namespace": "flux-system"}})  # fmt: skip
    assert [r.status for r in check_duplicates([(base, [_repo("linkerd", "v1", "x")]), (apps, [other])])] == [
        "pass", "pass"
    ]  # fmt: skip


def test_verify_fails_on_planted_duplicates_and_dangling_sources(
    k8s_tools: K8sTools, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(REPO / "examples", repo)
    nonprod = repo / "clusters" / "nonprod"
    sources = nonprod / "base-config" / "helmrepositories.yaml"
    text = sources.read_text()
    # 1. the same HelmRepository at a second apiVersion in the same build
    buoyant = text[text.rindex("---") :].replace("/v1\n", "/v1beta2\n")
    sources.write_text(text + buoyant)
    # 2. the linkerd HelmRepository also applied by the cluster's flux-system Kustomization
    (nonprod / "sources.yaml").write_text(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n"
        "  name: linkerd\n  namespace: flux-system\nspec:\n  url: https://helm.linkerd.io/stable\n"
    )
    kust = nonprod / "kustomization.yaml"
    kust.write_text(kust.read_text() + "  - sources.yaml\n")
    # 3. prod's buoyant HelmRelease names a HelmRepository that is not there
    release = repo / "clusters" / "prod" / "link-buoyant" / "helmrelease.yaml"
    release.write_text(release.read_text().replace("name: buoyant\n", "name: buoyant-gone\n"))
    code = main(["verify", str(repo), "--format", "json",
                 "--kustomize", f"{k8s_tools.kubectl} kustomize", "--helm", str(k8s_tools.helm)])  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert sorted((f["check"], f["path"], f["message"]) for f in report["failures"]) == [
        ("duplicate", "clusters/nonprod/base-config/helmrepositories.yaml",
         "applied by two Flux Kustomizations of this cluster: Kustomization "
         "flux-system/flux-system (path ./clusters/nonprod) from clusters/nonprod/sources.yaml "
         "and Kustomization flux-system/base-config (path ./clusters/nonprod/base-config) from "
         "clusters/nonprod/base-config/helmrepositories.yaml; they fight over it, keep it in "
         "one of them"),
        ("duplicate", "clusters/nonprod/base-config/helmrepositories.yaml",
         "defined twice in the build of Kustomization flux-system/base-config (path "
         "./clusters/nonprod/base-config): clusters/nonprod/base-config/helmrepositories.yaml "
         "(source.toolkit.fluxcd.io/v1) and clusters/nonprod/base-config/helmrepositories.yaml "
         "(source.toolkit.fluxcd.io/v1beta2); the cluster has one object, keep one definition"),
        ("reference", "clusters/prod/link-buoyant/helmrelease.yaml",
         "chart.spec.sourceRef HelmRepository flux-system/buoyant-gone: no such "
         "HelmRepository in this cluster"),
    ]  # fmt: skip
