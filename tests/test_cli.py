"""The command line: output shapes and the documented exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.cli import main
from tests.helpers import RECIPES, build_tree, git, git_repo, meshy_files, snapshot_bytes

R = ["--recipes", str(RECIPES)]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_detect_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build_tree(tmp_path, meshy_files(clusters=("prod",), pin="1.x"))
    code, out, _ = run(capsys, "detect", str(tmp_path), *R, "--format", "json")
    assert code == 0
    (instance,) = [i for i in json.loads(out)["instances"] if i["component"] == "meshy"]
    assert instance["version"] is None
    assert instance["edition"] is None
    assert instance["paths"] == ["clusters/prod/meshy/release.yaml"]
    assert instance["admits"] == ["stable-1.0.0", "stable-1.0.1", "stable-1.1.0"]


def test_plan_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build_tree(tmp_path, meshy_files(clusters=("prod",)))
    code, out, _ = run(capsys, "plan", str(tmp_path), "--to", "meshy@stable-1.1", *R)
    assert code == 2
    assert "stable-1.0-to-stable-1.1" in out
    code, _, err = run(capsys, "plan", str(tmp_path), "--to", "meshy@stable-9.9", *R)
    assert code == 1
    assert err.startswith("error: ")
    code, out, _ = run(capsys, "plan", str(tmp_path), "--to", "meshy@stable-1.0.0", *R)
    assert code == 0


def test_plan_json_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build_tree(tmp_path, meshy_files(clusters=("prod",)))
    code, out, _ = run(
        capsys, "plan", str(tmp_path), "--to", "meshy@stable-2.0", *R, "--format", "json"
    )
    assert code == 2
    raw = json.loads(out)
    assert raw["path"] == ["stable-1.0-to-stable-1.1", "stable-1.1-to-stable-2.0"]
    assert [c["message"].splitlines()[0] for c in raw["commits"]][:2] == [
        "meshy: upgrade to stable-1.1.0",
        "meshy: suspend meshy before the chart split",
    ]
    split = raw["commits"][2]
    assert {(f["path"], f["status"]) for f in split["files"]} == {
        ("clusters/prod/meshy/meshy-crds.yaml", "added"),
        ("clusters/prod/meshy/kustomization.yaml", "modified"),
        ("clusters/prod/meshy/release.yaml", "modified"),
    }


def test_plan_out_then_apply_plan_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = git_repo(tmp_path / "repo", meshy_files(clusters=("prod",)))
    plan_file = tmp_path / "plan.json"
    code, _, _ = run(
        capsys, "plan", str(repo), "--to", "meshy@stable-1.1", *R, "--format", "json",
        "--out", str(plan_file),
    )
    assert code == 2
    code, out, _ = run(capsys, "apply", str(repo), str(plan_file))
    assert code == 0, out
    assert "M clusters/prod/meshy/release.yaml" in out
    code, _, _ = run(capsys, "plan", str(repo), "--to", "meshy@stable-1.1", *R)
    assert code == 0


def test_apply_refuses_stale_plan_and_dirty_tree(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = git_repo(tmp_path / "repo", meshy_files(clusters=("prod",)))
    plan_file = tmp_path / "plan.json"
    run(capsys, "plan", str(repo), "--to", "meshy@stable-1.1", *R, "--format", "json",
        "--out", str(plan_file))
    release = repo / "clusters/prod/meshy/release.yaml"
    release.write_text(release.read_text() + "# edited by hand\n")
    git(repo, "commit", "-qam", "hand edit")
    before = snapshot_bytes(repo)
    code, _, err = run(capsys, "apply", str(repo), str(plan_file))
    assert code == 1
    assert "clusters/prod/meshy/release.yaml" in err
    assert snapshot_bytes(repo) == before
    (repo / "stray.txt").write_text("x")
    code, _, err = run(capsys, "apply", str(repo), "--to", "meshy@stable-1.1", *R)
    assert code == 1
    assert "stray.txt" in err and "--allow-dirty" in err
    code, _, err = run(capsys, "apply", str(repo), "--to", "meshy@stable-1.1", *R, "--allow-dirty")
    assert code == 0, err


def test_broken_recipe_dir_is_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lib = tmp_path / "lib" / "meshy"
    lib.mkdir(parents=True)
    (lib / "component.yaml").write_text("apiVersion: waypath.dev/v1\nkind: Component\nnam: x\n")
    code, _, err = run(capsys, "graph", "--recipes", str(tmp_path / "lib"))
    assert code == 1
    assert "component.yaml:3:1" in err


def test_graph_and_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "graph", *R, "--component", "meshy")
    assert code == 0
    assert "stable-1.1-to-stable-2.0" in out
    code, out, _ = run(capsys, "graph", *R, "--component", "meshy", "--format", "mermaid")
    assert code == 0 and out.startswith("flowchart LR")
    code, out, _ = run(capsys, "recipe", "schema")
    assert code == 0
    assert "phases" in json.dumps(json.loads(out))


def test_usage_errors_are_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run(capsys, "plan", "--recipes", str(RECIPES))
    assert code == 1
    code, _, err = run(capsys, "plan", ".", "--to", "meshy", *R)
    assert code == 1 and "COMPONENT@RELEASE" in err
    code, _, err = run(capsys, "plan", ".", "--to", "meshy@stable-1.1", *R, "--set", "novalue")
    assert code == 1 and "KEY=VALUE" in err
