from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from engine.errors import GitError
from engine.output.gitcli import Git
from tests.helpers import hermetic_git


@pytest.fixture(autouse=True)
def _hermetic_git(monkeypatch: pytest.MonkeyPatch) -> None:
    hermetic_git(monkeypatch)


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout


def init(root: Path, files: dict[str, str] | None = None) -> Git:
    git(root, "init", "-q", "-b", "main")
    for path, text in (files or {}).items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    if files:
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "initial")
    return Git(root)


def test_outside_a_repo(tmp_path: Path) -> None:
    repo = Git(tmp_path)
    assert repo.is_repo() is False
    with pytest.raises(GitError) as info:
        repo.toplevel()
    assert info.value.message.startswith("`git rev-parse --show-toplevel` failed (exit 128): ")
    assert "not a git repository" in info.value.message
    assert info.value.hint == "run waypath inside a git checkout, or point it at one"


def test_empty_repo(tmp_path: Path) -> None:
    repo = init(tmp_path)
    assert repo.is_repo() is True
    assert repo.toplevel() == tmp_path.resolve()
    assert repo.git_dir() == (tmp_path / ".git").resolve()
    assert repo.head() is None
    assert repo.current_branch() == "main"
    assert repo.is_dirty() == []
    assert repo.log("--all") == []


def test_is_dirty_sees_every_kind_of_change(tmp_path: Path) -> None:
    repo = init(tmp_path, {"a.yaml": "a\n", "b.yaml": "b\n", "c.yaml": "c\n", "d/e.yaml": "e\n"})
    assert repo.is_dirty() == []
    (tmp_path / "a.yaml").write_text("changed\n")  # modified, unstaged
    (tmp_path / "b.yaml").unlink()  # deleted
    git(tmp_path, "mv", "c.yaml", "moved.yaml")  # renamed, staged
    (tmp_path / "new dir").mkdir()
    (tmp_path / "new dir" / "x y.yaml").write_text("x\n")  # untracked, with spaces
    assert repo.is_dirty() == ["a.yaml", "b.yaml", "c.yaml", "moved.yaml", "new dir/x y.yaml"]
    assert repo.is_dirty(["a.yaml", "d"]) == ["a.yaml"]
    assert repo.is_dirty(["d"]) == []
    assert repo.is_dirty([]) == []


def test_commit_with_fixed_dates_is_reproducible(tmp_path: Path) -> None:
    shas = []
    for name in ("one", "two"):
        root = tmp_path / name
        root.mkdir()
        repo = init(root)
        (root / "a.yaml").write_text("a: 1\n")
        repo.add(["a.yaml"])
        shas.append(repo.commit("linkerd: first\n\n# kept, not a comment\nWaypath-Recipe: x"))
    assert shas[0] == shas[1]
    repo = Git(tmp_path / "one")
    assert repo.head() == shas[0]
    assert repo.log() == [(shas[0], "linkerd: first\n\n# kept, not a comment\nWaypath-Recipe: x")]
    assert git(tmp_path / "one", "log", "-1", "--format=%an <%ae> %aI %cI") == (
        "Test <test@example.com> 2024-01-02T03:04:05+00:00 2024-01-02T03:04:05+00:00\n"
    )


def test_commit_author_and_log_order(tmp_path: Path) -> None:
    repo = init(tmp_path, {"a": "1\n"})
    base = repo.head()
    (tmp_path / "a").write_text("2\n")
    repo.add(["a"])
    first = repo.commit("second", author="Bot <bot@example.com>")
    (tmp_path / "a").unlink()
    repo.rm(["a"])
    second = repo.commit("third")
    assert repo.log(f"{base}..HEAD") == [(first, "second"), (second, "third")]
    assert git(tmp_path, "log", "-1", "--format=%an <%ae>", first) == "Bot <bot@example.com>\n"
    assert git(tmp_path, "ls-files") == ""


def test_commit_only_paths_leaves_other_staged_changes_alone(tmp_path: Path) -> None:
    repo = init(tmp_path, {"mine.yaml": "1\n", "theirs.yaml": "1\n"})
    (tmp_path / "theirs.yaml").write_text("staged by the user\n")
    repo.add(["theirs.yaml"])
    (tmp_path / "mine.yaml").write_text("2\n")
    (tmp_path / "gone.yaml").write_text("x\n")
    repo.add(["mine.yaml"])
    sha = repo.commit("ours", paths=["mine.yaml"])
    assert git(tmp_path, "show", "--name-status", "--format=", sha) == "M\tmine.yaml\n"
    assert git(tmp_path, "status", "--porcelain") == "M  theirs.yaml\n?? gone.yaml\n"


def test_commit_only_paths_can_delete(tmp_path: Path) -> None:
    repo = init(tmp_path, {"a.yaml": "1\n", "b.yaml": "1\n"})
    (tmp_path / "a.yaml").unlink()
    repo.rm(["a.yaml"], cached=True)
    sha = repo.commit("drop a", paths=["a.yaml"])
    assert git(tmp_path, "show", "--name-status", "--format=", sha) == "D\ta.yaml\n"
    assert repo.is_dirty() == []


def test_branches(tmp_path: Path) -> None:
    repo = init(tmp_path, {"a": "1\n"})
    assert repo.branch_exists("main") is True
    assert repo.branch_exists("waypath/up") is False
    repo.create_branch("waypath/up")
    assert repo.branch_exists("waypath/up") is True
    assert repo.current_branch() == "main"
    repo.checkout("waypath/up")
    assert repo.current_branch() == "waypath/up"
    with pytest.raises(GitError, match="already exists"):
        repo.create_branch("waypath/up")
    with pytest.raises(GitError, match="invalid branch name '-f'"):
        repo.create_branch("-f")
    git(tmp_path, "checkout", "-q", "--detach")
    assert repo.current_branch() is None


def test_branch_named_like_a_file(tmp_path: Path) -> None:
    repo = init(tmp_path, {"a": "1\n"})
    repo.create_branch("a")
    (tmp_path / "a").write_text("local edit\n")
    repo.checkout("a")  # a branch, not `git checkout -- a` (which would drop the edit)
    assert (tmp_path / "a").read_text() == "local edit\n"
    assert repo.current_branch() == "a"


def test_push(tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    work = tmp_path / "work"
    work.mkdir()
    repo = init(work, {"a": "1\n"})
    git(work, "remote", "add", "origin", str(remote))
    repo.create_branch("up")
    repo.push("origin", "up")
    assert git(remote, "rev-parse", "refs/heads/up").strip() == repo.head()
    with pytest.raises(GitError, match="`git push nowhere refs/heads/up:refs/heads/up` failed"):
        repo.push("nowhere", "up")


def test_a_signal_while_git_commit_reads_its_message_is_raised_after_git_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGHUP in the middle of `git commit --file=-` (its message on stdin): the interrupt
    waits for git, then is raised as itself. It used to retry `communicate(message)`, which
    raises ValueError ("Cannot send input after starting communication"): exit 3 instead of
    130 in tests/test_kills.py under load. Pins: engine/interrupts.py."""
    import os

    from engine.error_handler import Interrupted, signals_as_interrupts

    repo = init(tmp_path, {"a.txt": "a\n"})
    hook = tmp_path / ".git" / "hooks" / "pre-commit"
    hook.write_text('#!/bin/sh\nkill -HUP "$WAYPATH_TEST_PID"\nsleep 0.3\n')
    hook.chmod(0o755)
    monkeypatch.setenv("WAYPATH_TEST_PID", str(os.getpid()))
    (tmp_path / "a.txt").write_text("b\n")
    repo.add(["a.txt"])
    with signals_as_interrupts(), pytest.raises(Interrupted):
        repo.commit("second\n\nwith a body\n")
    assert git(tmp_path, "log", "--format=%s").splitlines() == ["second", "initial"]
    assert not (tmp_path / ".git" / "index.lock").exists()
