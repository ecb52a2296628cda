"""`waypath verify` and `plan --verify` end to end: the bundled example, every fixture,
and planted breaks (an overlay that no longer matches its base, a dangling dependsOn)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engine.cli import main
from tests.checks.shared import REPO
from tests.k8s_tools import K8sTools

CHARTS = REPO / "third_party" / "shared" / "charts" / "linkerd"
FIXTURES = sorted(p.name for p in (REPO / "tests" / "fixtures").iterdir() if p.is_dir())


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _tool_args(tools: K8sTools) -> list[str]:
    return ["--kustomize", f"{tools.kubectl} kustomize", "--helm", str(tools.helm)]


def _copy(src: Path, tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(src, repo)
    return repo


@pytest.mark.parametrize("fixture", ["examples", *FIXTURES])
def test_every_fixture_and_the_example_verify(
    fixture: str, k8s_tools: K8sTools, capsys: pytest.CaptureFixture[str]
) -> None:
    root = REPO / "examples" if fixture == "examples" else REPO / "tests" / "fixtures" / fixture
    code, out, _ = _run(capsys, "verify", str(root), "--format", "json", *_tool_args(k8s_tools))
    report = json.loads(out)
    assert code == 0 and report["ok"], report["failures"]
    assert (report["format_version"], report["command"]) == (1, "verify")
    if fixture != "not-flux":
        assert report["counts"]["build"].get("pass", 0) >= 2
        assert "skip" not in report["counts"]["build"]


def test_example_renders_its_oss_control_plane(
    k8s_tools: K8sTools, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(
        capsys, "verify", str(REPO / "examples"), "--charts", str(CHARTS), *_tool_args(k8s_tools)
    )
    assert code == 0
    assert "  render     2 passed, 2 skipped\n" in out
    assert "render: chart linkerd-buoyant is not in the --charts folders (2x)" in out
    # The SOPS-encrypted issuer key cannot be read: a placeholder, and a note says so.
    assert (
        "clusters/prod/link-control-plane/helmrelease.yaml: HelmRelease linkerd/linkerd: "
        "valuesFrom Secret linkerd/linkerd-identity-issuer-values key tls.key: "
        "SOPS-encrypted or not readable; rendered with a placeholder"
    ) in out


def test_planted_overlay_break_names_the_file(
    k8s_tools: K8sTools, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _copy(REPO / "tests" / "fixtures" / "base-overlays", tmp_path)
    base = repo / "infrastructure" / "base" / "linkerd" / "helmrelease.yaml"
    base.write_text(base.read_text().replace("name: linkerd\n", "name: linkerd-renamed\n", 1))
    code, out, _ = _run(capsys, "verify", str(repo), "--format", "json", *_tool_args(k8s_tools))
    report = json.loads(out)
    assert code == 1 and not report["ok"]
    failed = {(f["check"], f["path"], f["subject"]) for f in report["failures"]}
    assert failed == {
        (
            "build",
            f"clusters/{env}/infrastructure.yaml",
            f"Kustomization flux-system/infrastructure (path ./infrastructure/overlays/{env})",
        )
        for env in ("nonprod", "prod")
    }
    assert all("no matches for Id HelmRelease" in f["message"] for f in report["failures"])
    assert str(tmp_path) not in out and "waypath-verify-" not in out


def test_planted_missing_overlay_file_is_named(
    k8s_tools: K8sTools, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _copy(REPO / "tests" / "fixtures" / "base-overlays", tmp_path)
    (repo / "infrastructure" / "overlays" / "prod" / "helmrelease-patch.yaml").unlink()
    code, out, _ = _run(capsys, "verify", str(repo), *_tool_args(k8s_tools))
    assert code == 1
    assert out.startswith("verify: failed (1 problem)\n")
    assert (
        "  clusters/prod/infrastructure.yaml: build of Kustomization flux-system/infrastructure"
        in out
    )
    assert "infrastructure/overlays/prod/helmrelease-patch.yaml" in out


@pytest.mark.parametrize("with_kustomize", [True, False])
def test_planted_dangling_depends_on_names_the_file(
    with_kustomize: bool,
    k8s_tools: K8sTools,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo = _copy(REPO / "examples", tmp_path)
    buoyant = repo / "clusters" / "prod" / "link-buoyant" / "helmrelease.yaml"
    text = buoyant.read_text()
    assert "dependsOn:\n" in text
    buoyant.write_text(text.replace("name: linkerd\n", "name: linkerd-gone\n", 1))
    args = ["verify", str(repo), "--format", "json", "--helm", str(k8s_tools.helm)]
    if with_kustomize:
        args += ["--kustomize", f"{k8s_tools.kubectl} kustomize"]
    else:
        monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))
    code, out, _ = _run(capsys, *args)
    report = json.loads(out)
    assert code == 1
    assert [(f["check"], f["path"], f["message"]) for f in report["failures"]] == [
        (
            "reference",
            "clusters/prod/link-buoyant/helmrelease.yaml",
            "dependsOn HelmRelease linkerd/linkerd-gone: no such HelmRelease in this cluster",
        )
    ]
    if not with_kustomize:
        # Without kustomize the builds are skipped, never passed; references still checked.
        assert report["counts"]["build"] == {"skip": 8}
        assert report["tools"]["kustomize"].startswith("missing: neither kubectl nor kustomize")


def test_missing_tools_are_skipped_not_passed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))
    code, out, _ = _run(capsys, "verify", str(REPO / "examples"), "--charts", str(CHARTS))
    assert code == 0
    assert out.startswith("verify: passed, 20 skipped\n")
    assert "  build      8 skipped\n" in out
    assert "  duplicate  8 skipped\n" in out
    assert "\n  wave " not in out  # plan --verify's check, not run on one tree
    assert "  render     4 skipped\n" in out
    assert "build: neither kubectl nor kustomize is on PATH (or pass --kustomize CMD) (8x)" in out
    strict, _, _ = _run(capsys, "verify", str(REPO / "examples"), "--strict")
    assert strict == 1


def test_bad_arguments_are_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(
        capsys, "verify", str(REPO / "examples"), "--kustomize", "no-such-tool build"
    )
    assert code == 1
    assert "--kustomize 'no-such-tool build': no-such-tool is not an executable" in err
    code, _, err = _run(capsys, "verify", str(REPO / "examples"), "--charts", str(tmp_path))
    assert code == 1 and f"--charts {tmp_path}: no index.yaml there" in err
    code, _, err = _run(capsys, "verify", str(tmp_path / "nope"))
    assert code == 1 and "is not a folder" in err


def test_plan_verify_puts_a_verdict_per_commit_in_plan_and_mr(
    k8s_tools: K8sTools, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mr = tmp_path / "mr.md"
    root = REPO / "tests" / "fixtures" / "oci-source"
    args = ["plan", str(root), "--to", "linkerd@stable-2.14", "--verify", "--charts", str(CHARTS)]
    args += [*_tool_args(k8s_tools), "--describe", str(mr)]
    code, out, _ = _run(capsys, *args, "--format", "json")
    data = json.loads(out)
    assert code == 2  # changes planned, every commit verified
    assert [(v["commit"], v["verdict"]) for v in data["verify"]] == [(1, "passed"), (2, "passed")]
    assert data["verify"][1]["counts"] == {
        "build": {"pass": 2},
        "schema": {"pass": 7},
        "reference": {"pass": 5},
        "duplicate": {"pass": 2},
        "render": {"pass": 3},
        "wave": {},
    }
    verified = (
        "**Verified** (`waypath verify`: kustomize build, Flux schemas, references, duplicates, "
        "helm template, waves): passed — build 2/2, schema 7/7, reference 5/5, duplicate 2/2, "
        "render 3/3"
    )
    assert mr.read_text().count(verified) == 2
    code, out, _ = _run(capsys, *args)
    assert "\nVerification (waypath verify on the state after each commit):\n  1. " in out
    assert code == 2


def test_plan_verify_catches_a_planted_dangling_depends_on(
    k8s_tools: K8sTools, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _copy(REPO / "examples", tmp_path)
    addons = repo / "clusters" / "nonprod" / "addons.yaml"
    addons.write_text(addons.read_text().replace("- name: link-control-plane", "- name: link-cp"))
    mr = tmp_path / "mr.md"
    args = ["plan", str(repo), "--to", "linkerd@stable-2.12", "--verify", "--describe", str(mr)]
    code, out, _ = _run(capsys, *args, *_tool_args(k8s_tools), "--format", "json")
    assert code == 1
    planted = {
        "check": "reference",
        "status": "fail",
        "path": "clusters/nonprod/addons.yaml",
        "subject": "Kustomization flux-system/link-buoyant",
        "message": "dependsOn Kustomization flux-system/link-cp: no such Kustomization in this cluster",
    }
    verdicts = [v for v in json.loads(out)["verify"] if v["verdict"] != "no changes"]
    assert verdicts and all(planted in v["failures"] for v in verdicts)
    assert (
        "- ❌ `clusters/nonprod/addons.yaml`: reference of Kustomization flux-system/link-buoyant: dependsOn Kustomization flux-system/link-cp"
        in mr.read_text()
    )
