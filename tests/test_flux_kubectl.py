"""The model's kustomize resolution against the real `kubectl kustomize` on the fixture
repos: same objects (kind, namespace, name) and the same HelmRelease/ConfigMap content."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.repo.flux import build_model
from engine.repo.flux.kustomize import KUSTOMIZATION_FILES
from engine.repo.workspace import Workspace
from tests.checks.scenarios import FIXTURES
from tests.k8s_tools import K8sTools

FLUX_FIXTURES = ["base-overlays", "oci-source"]


def kubectl_build(tools: K8sTools, folder: Path) -> list[dict[str, Any]]:
    done = subprocess.run(
        [str(tools.kubectl), "kustomize", "--load-restrictor", "LoadRestrictionsNone", str(folder)],
        capture_output=True,
        text=True,
        check=True,
    )
    return [d for d in yaml.safe_load_all(done.stdout) if d]


def key(data: dict[str, Any]) -> tuple[str, str, str]:
    meta = data.get("metadata") or {}
    return (str(data["kind"]), str(meta.get("namespace") or ""), str(meta["name"]))


@pytest.mark.parametrize("fixture", FLUX_FIXTURES)
def test_model_builds_what_kubectl_kustomize_builds(fixture: str, k8s_tools: K8sTools) -> None:
    root = FIXTURES / fixture
    model = build_model(Workspace(root))
    compared = 0
    for ks in model.kustomizations:
        has_file = any((root / ks.path / name).is_file() for name in KUSTOMIZATION_FILES)
        if not has_file or ks.target_namespace or ks.patches:
            continue  # kubectl has no generated kustomization and no Flux fields
        cluster = ks.clusters[0]
        ours = {
            key(r.data): r.data for r in model.rendered_in(cluster) if r.kustomization == ks.key
        }
        theirs = {key(d): d for d in kubectl_build(k8s_tools, root / ks.path)}
        assert sorted(ours) == sorted(theirs)
        for id_, data in theirs.items():
            if id_[0] in ("HelmRelease", "ConfigMap", "Kustomization"):
                assert ours[id_] == data, id_
        compared += 1
    assert compared > 0
