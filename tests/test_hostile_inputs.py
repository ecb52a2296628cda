"""Every input file Waypath reads is hostile input: recipes, component files,
waypath.yaml, `recipe new --old-values`, plan.json and Renovate data files all go through
one loading path with the same limits (size, nesting, alias expansion, FIFOs and
devices refused). Each bad file is exit 1 naming the file, never a traceback, a hang or
unbounded memory, and the repository stays as it was.

Pins: yamltext.inputs (read_input/load_yaml/load_json), recipe.loading._limits,
planning.planfile (the strict plan schema), apply.check_inputs (per-file stale check).
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import pytest

from engine.cli import main
from tests.helpers import RECIPES, git, git_repo, hermetic_git, meshy_files, snapshot_bytes

TO = ["--to", "meshy@stable-2.0", "--recipes", str(RECIPES)]
BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
    for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)
RECURSIVE = "a: &a [*a]\n"
DEEP = "a: " + "[" * 600 + "]" * 600 + "\n"


@pytest.fixture(autouse=True)
def _hermetic_git(monkeypatch: pytest.MonkeyPatch) -> None:
    hermetic_git(monkeypatch)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return git_repo(tmp_path / "repo", meshy_files())


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Run in a thread with a deadline: a hang fails the test instead of stalling it."""
    result: list[int] = []
    worker = threading.Thread(target=lambda: result.append(main(list(args))), daemon=True)
    worker.start()
    worker.join(60)
    assert result, f"waypath {' '.join(args)} did not end within 60 s"
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return result[0], err or out


@pytest.mark.parametrize("text", [BOMB, RECURSIVE, DEEP], ids=["bomb", "recursive", "deep"])
def test_waypath_yaml_within_the_limits(
    repo: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    (repo / "waypath.yaml").write_text("apiVersion: waypath.dev/v1\nkind: Config\n" + text)
    before = snapshot_bytes(repo)
    code, err = run(capsys, "plan", str(repo), "--recipes", str(RECIPES))
    assert code == 1
    assert err.startswith(f"error: {repo / 'waypath.yaml'}:"), err
    assert snapshot_bytes(repo) == before


@pytest.mark.parametrize("text", [BOMB, RECURSIVE, DEEP], ids=["bomb", "recursive", "deep"])
@pytest.mark.parametrize("where", ["recipe", "component"])
def test_recipe_library_files_within_the_limits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, where: str
) -> None:
    shutil.copytree(RECIPES / "meshy", tmp_path / "lib" / "meshy")
    library = tmp_path / "lib" / "meshy"
    bad = library / ("component.yaml" if where == "component" else "stable-9.0-to-stable-9.1.yaml")
    head = bad.read_text() if bad.exists() else "apiVersion: waypath.dev/v1\nkind: Recipe\n"
    bad.write_text(head + text)
    code, err = run(capsys, "recipe", "lint", "--recipes", str(tmp_path / "lib"))
    assert code == 1
    assert str(bad) in err, err


@pytest.mark.parametrize("text", [BOMB, RECURSIVE, DEEP], ids=["bomb", "recursive", "deep"])
def test_recipe_new_old_values_within_the_limits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(text)
    code, err = run(capsys, "recipe", "new", "linkerd", "--from", "enterprise-2.16", "--to",
                    "enterprise-2.16.9", "--old-values", str(values), "--new-values",
                    str(values), "--recipes", str(tmp_path / "mine"))  # fmt: skip
    assert code == 1
    assert err.startswith(f"error: {values}:1: "), err
    assert not (tmp_path / "mine").exists()


def plan_file(repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    out = tmp_path / "plan.json"
    assert main(["plan", str(repo), *TO, "--format", "json", "--out", str(out)]) == 2
    capsys.readouterr()
    raw: dict[str, object] = json.loads(out.read_text())
    return raw


def _edit(raw: dict[str, object], how: str) -> object:
    first = raw["commits"][0]["files"][0]  # type: ignore[index]
    if how == "array":
        return [raw]
    if how == "deep":
        return "DEEP"
    if how == "wrong-type":
        raw["commits"] = "many"
    elif how == "unknown-field":
        raw["extra"] = 1
    elif how == "absolute-path":
        first["path"] = "/etc/passwd"
    elif how == "dotdot-path":
        first["path"] = "../outside.yaml"
    elif how == "git-path":
        first["path"] = ".git/hooks/post-commit"
    elif how == "nul-content":
        first["content"] = "a\0b"
    elif how == "input-outside":
        raw["inputs"] = {"/dev/zero": "0" * 64}
    elif how == "empty-inputs":
        raw["inputs"] = {}
    elif how == "bad-sha":
        first["old_sha256"] = "x"
    elif how == "old-version":
        raw["format_version"] = 0
    return raw


HOW = ["array", "deep", "wrong-type", "unknown-field", "absolute-path", "dotdot-path",
       "git-path", "nul-content", "input-outside", "empty-inputs", "bad-sha", "old-version"]  # fmt: skip


@pytest.mark.parametrize("how", HOW)
def test_a_hostile_plan_file_is_refused_naming_it(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    raw = plan_file(repo, tmp_path, capsys)
    bad = tmp_path / "bad.json"
    edited = _edit(raw, how)
    bad.write_text("[" * 1000 + "]" * 1000 if edited == "DEEP" else json.dumps(edited))
    before = snapshot_bytes(repo)
    code, err = run(capsys, "apply", str(repo), str(bad))
    assert code == 1
    assert str(bad) in err.splitlines()[0], err
    assert snapshot_bytes(repo) == before
    assert git(repo, "status", "--porcelain") == ""


def test_a_plan_file_with_surrogates_is_refused(
    tmp_path: Path, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"format_version": 1, "target": "\\ud800", "x": "\xff"}')
    code, err = run(capsys, "apply", str(repo), str(bad))
    assert code == 1
    assert str(bad) in err


def test_each_changed_file_is_checked_even_when_inputs_are_edited(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = plan_file(repo, tmp_path, capsys)
    first = raw["commits"][0]["files"][0]  # type: ignore[index]
    changed = repo / first["path"]
    changed.write_text(changed.read_text() + "# edited after planning\n")
    git(repo, "commit", "-qam", "edit")
    # The edit is caught by the file's own old hash, whatever `inputs` says.
    raw["inputs"][first["path"]] = first["old_sha256"]  # type: ignore[index]
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(raw))
    before = snapshot_bytes(repo)
    code, err = run(capsys, "apply", str(repo), str(plan))
    assert code == 1
    assert err.startswith("error: 1 input file(s) changed since the plan was made\n")
    assert f"  - {first['path']}: changed" in err
    assert snapshot_bytes(repo) == before


@pytest.mark.parametrize("kind", ["fifo", "device", "folder", "huge"])
def test_a_plan_or_data_file_that_is_no_regular_file_is_refused(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch, kind: str,
) -> None:  # fmt: skip
    path = tmp_path / f"input-{kind}.json"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        path = Path("/dev/zero")
    elif kind == "folder":
        path.mkdir()
    else:
        with path.open("wb") as handle:
            handle.truncate(9 * 1024 * 1024)
    code, err = run(capsys, "apply", str(repo), str(path))
    if kind == "folder":
        assert code == 1  # a folder named *.json is taken as the repo: not a git repo here
    else:
        assert code == 1 and str(path) in err, err
    (repo / "waypath.yaml").write_text(
        "apiVersion: waypath.dev/v1\nkind: Config\ncomponents:\n  meshy:\n"
        "    version: stable-2.0.0\n"
    )
    git(repo, "add", "waypath.yaml")
    git(repo, "commit", "-qm", "config")
    monkeypatch.setenv("RENOVATE_POST_UPGRADE_COMMAND_DATA_FILE", str(path))
    code, err = run(capsys, "sync", str(repo), "--recipes", str(RECIPES))
    assert code == 1 and str(path) in err, err
