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


def _options(command: object, path: list[str]) -> list[tuple[str, object]]:
    import click

    found = [(" ".join(path), p) for p in getattr(command, "params", [])]
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            found += _options(sub, [*path, name])
    return found


def test_every_option_has_help_and_main_commands_show_examples(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import click

    from engine.cli import cli

    options = [(where, p) for where, p in _options(cli, ["waypath"]) if isinstance(p, click.Option)]
    assert len(options) > 40
    assert [(where, p.opts) for where, p in options if not p.help] == []
    for command in ("detect", "plan", "apply", "sync", "demo", "recipe new", "recipe lint"):
        code, out, _ = run(capsys, *command.split(), "--help")
        assert code == 0
        examples = out[out.index("Examples:") :].splitlines()[1:]
        assert examples and all(line.startswith("    waypath ") for line in examples if line), out


def test_python_dash_m_engine_is_the_cli(tmp_path: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "engine", "detect", str(tmp_path), *R, "--format", "json"],
        capture_output=True, text=True, cwd=Path(__file__).parents[1], check=False,
    )  # fmt: skip
    assert (done.returncode, json.loads(done.stdout)) == (
        0,
        {"format_version": 1, "command": "detect", "instances": []},
    )


def test_apply_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = git_repo(tmp_path / "repo", meshy_files(clusters=("prod",)))
    code, out, _ = run(
        capsys, "apply", str(repo), "--to", "meshy@stable-1.1", *R, "--format", "json"
    )
    assert code == 0
    assert json.loads(out) == {
        "format_version": 1,
        "command": "apply",
        "target": "meshy@stable-1.1.0",
        "phases": 1,
        "files": [{"path": "clusters/prod/meshy/release.yaml", "status": "modified"}],
    }
    git(repo, "commit", "-qam", "applied")
    code, out, _ = run(
        capsys, "apply", str(repo), "--to", "meshy@stable-2.0", *R, "--format", "json", "--commit",
        "--branch", "up",
    )  # fmt: skip
    assert code == 0
    raw = json.loads(out)
    assert (raw["command"], raw["branch"], raw["created"], raw["made"]) == ("apply", "up", True, 2)
    assert [(c["recipe"], c["phase"], c["sha"] is not None) for c in raw["commits"]] == [
        ("stable-1.1-to-stable-2.0", "suspend", True),
        ("stable-1.1-to-stable-2.0", "split", True),
        ("stable-1.1-to-stable-2.0", "cleanup", False),  # manual only: listed, no commit
    ]
    assert raw["commits"][1]["sha"] == git(repo, "rev-parse", "up").strip()
    assert raw["commits"][2]["files"] == []
    assert raw["pushed"] is None


def test_recipe_lint_json(capsys: pytest.CaptureFixture[str]) -> None:
    broken = Path(__file__).parent / "recipes_lint_broken" / "todo"
    code, out, _ = run(capsys, "recipe", "lint", str(broken), "--format", "json")
    raw = json.loads(out)
    assert code == 1
    assert (raw["format_version"], raw["command"], raw["errors"]) == (1, "recipe lint", 1)
    [problem] = raw["problems"]
    assert problem["code"] == "todo" and problem["severity"] == "error"
    assert problem["path"].endswith(".yaml") and problem["line"] > 0


WAVES = """\
apiVersion: waypath.dev/v1
kind: Config
components:
  meshy: {version: stable-1.1.0}
waves:
  - {name: nonprod, paths: [clusters/nonprod]}
  - {name: prod, paths: [clusters/prod]}
  - {name: nonprod, paths: [clusters/temp]}
"""


def test_waypath_yaml_errors_name_the_file_and_its_doc(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build_tree(tmp_path, {**meshy_files(clusters=("prod",)), "waypath.yaml": WAVES})
    code, _, err = run(capsys, "plan", str(tmp_path), *R)
    assert code == 1
    assert err.splitlines() == [
        f"error: {tmp_path}/waypath.yaml: waypath.yaml has 1 problem",
        f"  - {tmp_path}/waypath.yaml:5:1: waves: wave name `nonprod` is used twice "
        "(waves 1 and 3); each wave needs its own name",
        "hint: see docs/upgrading.md (Waves: `waypath.yaml`); editors check the file as you "
        "type with the schema from `waypath config schema`",
    ]


def test_shell_completion_as_documented() -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "_WAYPATH_COMPLETE": "bash_complete", "COMP_WORDS": "waypath rec",
           "COMP_CWORD": "1"}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from engine.cli import main; sys.exit(main())"],
        env=env, capture_output=True, text=True, cwd=Path(__file__).parents[1], check=False,
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (0, "plain,recipe\n")


def test_detect_names_clusters_and_the_files_that_patch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.test_planning_waves import overlays

    build_tree(tmp_path, overlays(staging="1.0.0", production="1.0.0"))
    code, out, _ = run(capsys, "detect", str(tmp_path), *R, "--format", "json")
    assert code == 0
    (instance,) = [i for i in json.loads(out)["instances"] if i["component"] == "meshy"]
    assert instance["clusters"] == ["production", "staging"]
    assert instance["objects"]["core"] == [
        {
            "path": "infra/base/release.yaml",
            "name": "meshy",
            "chart": "meshy",
            "pin": "1.0.0",
            "defined_in": "infra/base/release.yaml",
            "patched_by": ["infra/production/version.yaml", "infra/staging/version.yaml"],
            "pin_file": "infra/production/version.yaml",
        }
    ]
    code, out, _ = run(capsys, "detect", str(tmp_path), *R)
    assert out.splitlines()[:4] == [
        "meshy in .: stable-1.0.0  (chart meshy pinned at 1.0.0 by the patch in "
        "infra/production/version.yaml)",
        "  shared base reached by clusters production, staging",
        "  core                   meshy 1.0.0  infra/base/release.yaml",
        "                         patched by infra/production/version.yaml, "
        "infra/staging/version.yaml",
    ]
