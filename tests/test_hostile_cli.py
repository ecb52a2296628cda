"""Command-line values as hostile input: refs that look like options, branch names git
refuses, output files in the wrong place, odd repositories and file names. Each must be
a clear error (exit 1) before any change, or work, never a traceback or a write
somewhere else. Through `engine.cli.main`, as a user runs it.

Pins: rollout's --end-of-options and --base check, gitcli._checked_name and
check_identity, outfile.check_output/write_output, common.repo_root (bare repos).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from engine.cli import main
from tests.helpers import RECIPES, git, git_repo, hermetic_git, meshy_files, snapshot_bytes

TO = ["--to", "meshy@stable-2.0", "--recipes", str(RECIPES)]


@pytest.fixture(autouse=True)
def _hermetic_git(monkeypatch: pytest.MonkeyPatch) -> None:
    hermetic_git(monkeypatch)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return git_repo(tmp_path / "repo", meshy_files())


def state(repo: Path) -> tuple[object, ...]:
    return (
        snapshot_bytes(repo),
        git(repo, "for-each-ref", "--format=%(refname) %(objectname)"),
        git(repo, "symbolic-ref", "HEAD"),
        git(repo, "status", "--porcelain", "--untracked-files=all"),
    )


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_a_base_that_looks_like_an_option_reaches_git_as_a_ref(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A branch with a teammate's commit: the foreign-commit check must still see it.
    git(repo, "checkout", "-q", "-b", "rollout")
    (repo / "theirs.txt").write_text("a teammate's work\n")
    git(repo, "add", "theirs.txt")
    git(repo, "commit", "-qm", "teammate")
    git(repo, "checkout", "-q", "main")
    before = state(repo)
    evil = f"--output={tmp_path / 'x.txt'}"
    code, _, err = run(capsys, "apply", str(repo), *TO, "--commit", "--branch", "rollout",
                       "--base", evil)  # fmt: skip
    assert code == 1
    assert err.startswith(f"error: --base {evil!r} is not a branch or commit of this repository")
    assert not (tmp_path / "x.txt").exists()
    assert state(repo) == before


@pytest.mark.parametrize("name", ["-x", "a b", "x..y", "x.lock", "a~1", "a:b", "@", "/x", "a\x01"])
def test_branch_names_git_refuses_are_clear_errors(
    repo: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    before = state(repo)
    code, _, err = run(capsys, "apply", str(repo), *TO, "--commit", "--branch", name)
    assert code == 1
    assert err.startswith(f"error: invalid branch name {name!r}\n"), err
    assert state(repo) == before


def test_describe_over_a_tracked_file_is_refused_before_any_change(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = repo / "clusters" / "prod" / "apps.yaml"
    before = state(repo)
    code, _, err = run(capsys, "apply", str(repo), *TO, "--commit", "--describe", str(target))
    assert code == 1
    assert err.startswith(
        f"error: --describe {target} is a file git tracks; writing it would change the "
        "repository\n"
    )
    assert state(repo) == before


def test_describe_into_a_missing_folder_is_refused_before_any_commit(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = state(repo)
    target = tmp_path / "no" / "such" / "mr.md"
    code, _, err = run(capsys, "apply", str(repo), *TO, "--commit", "--describe", str(target))
    assert code == 1
    assert err.startswith(f"error: --describe {target}: the folder {target.parent} does not exist")
    assert state(repo) == before


def test_describe_inside_the_repo_does_not_stop_a_plain_apply(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "apply", str(repo), *TO, "--describe", str(repo / "mr.md"))
    assert code == 0, err
    assert out.endswith("to the working tree\n")
    assert (repo / "mr.md").read_text().startswith("#")


@pytest.mark.parametrize("option", ["--out", "--describe"])
def test_plan_outputs_into_a_missing_folder_are_clear_errors(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    target = tmp_path / "missing" / "plan.json"
    code, out, err = run(capsys, "plan", str(repo), *TO, option, str(target))
    assert (code, out) == (1, "")
    assert err.startswith(f"error: {option} {target}: the folder {target.parent} does not exist")


def test_plan_out_is_written_whole(repo: Path, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    target = tmp_path / "plan.json"
    target.write_text("old\n")
    code, _, _ = run(capsys, "plan", str(repo), *TO, "--format", "json", "--out", str(target))
    assert code == 2
    assert target.read_text().startswith("{")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.json", "repo"]


def test_a_bare_repository_is_named_as_such(tmp_path: Path, repo: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo), str(bare))
    for command in (["plan"], ["apply"], ["apply", "--commit"]):
        code, _, err = run(capsys, command[0], str(bare), *TO, *command[1:])
        assert code == 1
        assert err == (
            f"error: {bare} is a bare git repository: it has no files to upgrade\n"
            "hint: clone it (`git clone REPO work`) and run waypath in the clone\n"
        )


def test_a_missing_git_identity_is_said_before_any_change(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.delenv(f"GIT_{who}_NAME")
        monkeypatch.delenv(f"GIT_{who}_EMAIL")
    monkeypatch.setenv("EMAIL", "")
    git(repo, "config", "user.useConfigOnly", "true")  # no guessing from the host name
    before = state(repo)
    code, _, err = run(capsys, "apply", str(repo), *TO, "--commit")
    assert code == 1
    assert err.startswith(
        "error: git does not know who you are: user.name and user.email are not set\n"
    )
    assert state(repo) == before


def test_a_file_name_that_is_not_utf8_is_committed_and_described(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = meshy_files()
    files.pop("clusters/prod/meshy/release.yaml")
    repo = git_repo(tmp_path / "repo", files)
    release = meshy_files()["clusters/prod/meshy/release.yaml"].encode()
    name = os.path.join(os.fsencode(repo), b"clusters/prod/meshy/r\xe9lease.yaml")
    with open(name, "wb") as handle:
        handle.write(release)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "latin-1 name")
    mr = tmp_path / "mr.md"
    code, _, err = run(capsys, "apply", str(repo), *TO, "--commit", "--describe", str(mr))
    assert code == 0, err
    raw = subprocess.run(["git", "log", "-z", "--name-only", "--format=", "main..HEAD"],
                         cwd=repo, capture_output=True, check=True).stdout  # fmt: skip
    assert b"clusters/prod/meshy/r\xe9lease.yaml" in raw.split(b"\0")
    assert b"r\xe9lease.yaml" in mr.read_bytes()
    assert git(repo, "status", "--porcelain") == ""
