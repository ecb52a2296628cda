"""tests/k8s_tools.py: where the real tools are found, and skip-locally / fail-in-CI."""

from __future__ import annotations

import csv
import hashlib
import subprocess
from pathlib import Path

import pytest

from tests import k8s_tools
from tests.checks.shared import REPO
from tests.k8s_tools import K8sTools

CHARTS = REPO / "third_party" / "shared" / "charts" / "linkerd"


def _fake_bin(folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        tool = folder / name
        tool.write_text("#!/bin/sh\nexit 0\n")
        tool.chmod(0o755)
    return folder


@pytest.fixture
def no_tools(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An environment with no helm/kubectl anywhere."""
    monkeypatch.delenv("WAYPATH_TOOLS_BIN", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(k8s_tools, "REPO_BIN", tmp_path / "no-repo-bin")
    return tmp_path


def test_tools_bin_env_wins_over_path(no_tools: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_bin = _fake_bin(no_tools / "env", "helm", "kubectl")
    path_bin = _fake_bin(no_tools / "path", "helm", "kubectl")
    monkeypatch.setenv("PATH", str(path_bin))
    assert k8s_tools.find_tool("helm") == path_bin / "helm"
    monkeypatch.setenv("WAYPATH_TOOLS_BIN", str(env_bin))
    assert k8s_tools.find_tool("helm") == env_bin / "helm"


def test_repo_tools_bin_is_the_last_resort(no_tools: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo_bin = _fake_bin(no_tools / "repo-bin", "helm")
    monkeypatch.setattr(k8s_tools, "REPO_BIN", repo_bin)
    assert k8s_tools.find_tool("helm") == repo_bin / "helm"
    assert k8s_tools.missing_tools() == ["kubectl"]


def test_missing_tools_skip_locally_with_the_reason(
    no_tools: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(
        pytest.skip.Exception, match="needs helm and kubectl, not found: run tools/"
    ):
        k8s_tools.require_k8s_tools()
    assert "tests needing them are skipped" in k8s_tools.report_header()


def test_missing_tools_fail_in_ci(no_tools: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true and needs helm and kubectl"):
        k8s_tools.require_k8s_tools()
    assert "required (CI=true)" in k8s_tools.report_header()


def test_found_tools_are_returned(no_tools: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_bin = _fake_bin(no_tools / "env", "helm", "kubectl")
    monkeypatch.setenv("WAYPATH_TOOLS_BIN", str(env_bin))
    assert k8s_tools.require_k8s_tools() == K8sTools(env_bin / "helm", env_bin / "kubectl")


def test_vendored_charts_match_their_index() -> None:
    with (CHARTS / "index.tsv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert len(rows) == 23
    for row in rows:
        data = (CHARTS / row["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == row["sha256"], row["file"]
    for release in {row["release"] for row in rows}:
        assert (CHARTS / release / "index.yaml").is_file()


def test_real_helm_renders_a_vendored_chart(k8s_tools: K8sTools) -> None:
    # linkerd-crds 1.8.0 (stable-2.14.10) renders 8 CRDs with no values (charts README).
    out = subprocess.run(
        [
            str(k8s_tools.helm),
            "template",
            "linkerd-crds",
            str(CHARTS / "stable-2.14.10" / "linkerd-crds-1.8.0.tgz"),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.count("\nkind: CustomResourceDefinition") == 8


def test_real_kubectl_builds_a_kustomization(k8s_tools: K8sTools, tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("namespace: demo\nresources: [cm.yaml]\n")
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n")
    out = subprocess.run(
        [str(k8s_tools.kubectl), "kustomize", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "namespace: demo" in out and "name: a" in out
