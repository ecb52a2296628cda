"""`waypath apply --commit`: one commit per phase on a branch, its messages, trailers and
trees, the refusals, re-runs, and --push — on real git repos in tmp_path."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from engine.errors import GitError, UsageError
from tests.commit_helpers import (
    apply,
    message,
    subjects,
    trailers,
    use_toy_recipes_and_fixed_git,
)
from tests.helpers import git, git_repo, meshy_files

BRANCH = "waypath/meshy-stable-2.0.0"


@pytest.fixture(autouse=True)
def _setup(monkeypatch: pytest.MonkeyPatch) -> None:
    use_toy_recipes_and_fixed_git(monkeypatch)


def log(repo: Path, range_: str = f"main..{BRANCH}") -> list[str]:
    return subjects(repo, range_)


def test_one_commit_per_phase_in_path_order(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo", meshy_files())
    out = apply(repo)
    assert log(repo) == [
        "meshy: upgrade to stable-1.1.0 [nonprod, prod]",
        "meshy: suspend meshy before the chart split [nonprod, prod]",
        "meshy: install meshy-crds and meshy-control-plane [nonprod, prod]",
    ]
    # the clean-up phase is notes only: no commit, but it is said
    assert "(manual only, no commit) meshy: clean up after the split" in out
    assert f"made 3 commit(s) on new branch {BRANCH}" in out
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip() == BRANCH
    assert git(repo, "status", "--porcelain") == ""
    # each commit touches exactly its phase's files
    files = git(repo, "show", "--format=", "--name-status", f"{BRANCH}~1").split()
    assert files == [
        "M", "clusters/nonprod/meshy/release.yaml",
        "M", "clusters/prod/meshy/release.yaml",
    ]
    assert "suspend: true" in git(repo, "show", f"{BRANCH}~1:clusters/prod/meshy/release.yaml")


def test_message_has_body_and_parseable_trailers(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo", meshy_files())
    apply(repo)
    assert trailers(repo, f"{BRANCH}~1") == {
        "Waypath-Recipe": "stable-1.1-to-stable-2.0",
        "Waypath-Phase": "1/3 suspend",
        "Waypath-From": "stable-1.1.0",
        "Waypath-To": "stable-2.0.0",
        # the last of two: one per cluster's release (see tests/test_gate.py)
        "Waypath-Provides": "suspended meshy/meshy clusters/prod/meshy/release.yaml",
    }
    body = message(repo, BRANCH)
    assert body.startswith("meshy: install meshy-crds and meshy-control-plane [nonprod, prod]\n\n")
    assert "Split the meshy chart into meshy-crds and meshy-control-plane" in body
    assert "Clusters: nonprod, prod" in body
    assert "Manual steps:\n- Annotate the CRDs so the meshy-crds release adopts them" in body
    assert "    $ kubectl annotate crd" in body
    gate = message(repo, f"{BRANCH}~1")
    assert "Before merging the next commit: HelmRelease meshy is suspended" in gate
    author = git(repo, "log", "-1", "--format=%an <%ae>|%cn <%ce>", BRANCH).strip()
    assert author == "Test Author <author@example.com>|Test Committer <committer@example.com>"


def test_same_inputs_same_commits(tmp_path: Path) -> None:
    shas = []
    for name in ("a", "b"):
        repo = git_repo(tmp_path / name, meshy_files())
        apply(repo)
        shas.append(git(repo, "rev-parse", BRANCH).strip())
    assert shas[0] == shas[1]  # same trees, messages, authors and dates


def test_author_option_and_branch_option(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo", meshy_files())
    apply(repo, branch="upgrade/meshy", author="Ops Bot <ops@example.com>")
    assert git(repo, "log", "-1", "--format=%an <%ae>", "upgrade/meshy").strip() == (
        "Ops Bot <ops@example.com>"
    )
    assert len(log(repo, "main..upgrade/meshy")) == 3


def test_second_run_changes_nothing(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo", meshy_files())
    apply(repo)
    tip = git(repo, "rev-parse", BRANCH).strip()
    git(repo, "checkout", "-q", "main")
    out = apply(repo)  # from main: the branch exists and holds only Waypath's commits
    assert f"nothing to do: no new commit on {BRANCH}" in out
    assert git(repo, "rev-parse", BRANCH).strip() == tip
    out = apply(repo)  # and again, now on the branch itself
    assert "nothing to do" in out
    assert git(repo, "rev-parse", BRANCH).strip() == tip


def test_nothing_to_do_makes_no_branch(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo", meshy_files(pin="1.1.0"))
    out = apply(repo, target="meshy@stable-1.1")
    assert "nothing to do" in out
    assert "waypath/" not in git(repo, "branch")


def test_rerun_after_partial_merge_picks_up_where_the_repo_stands(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo", meshy_files())
    apply(repo)
    final_tree = git(repo, "rev-parse", f"{BRANCH}^{{tree}}").strip()
    # the first two commits were merged; the branch was deleted after the merge
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--ff-only", f"{BRANCH}~1")
    git(repo, "branch", "-q", "-D", BRANCH)
    out = apply(repo)
    assert log(repo) == ["meshy: install meshy-crds and meshy-control-plane [nonprod, prod]"]
    assert trailers(repo, BRANCH)["Waypath-Phase"] == "2/3 split"
    assert git(repo, "rev-parse", f"{BRANCH}^{{tree}}").strip() == final_tree
    assert "made 1 commit(s)" in out


def test_refuses_a_branch_with_foreign_commits(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo", meshy_files())
    git(repo, "checkout", "-q", "-b", BRANCH)
    (repo / "notes.txt").write_text("mine\n")
    git(repo, "add", "notes.txt")
    git(repo, "commit", "-q", "-m", "my own work")
    git(repo, "checkout", "-q", "main")
    with pytest.raises(GitError, match="1 commit\\(s\\) Waypath did not make") as exc:
        apply(repo)
    assert "my own work" in exc.value.render()
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"
    out = apply(repo, force_branch=True)
    assert "made 3 commit(s)" in out
    assert log(repo)[0] == "my own work"


def test_refuses_a_dirty_tree_unless_allowed(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo", meshy_files())
    (repo / "scratch.txt").write_text("wip\n")
    with pytest.raises(GitError, match="uncommitted changes"):
        apply(repo)
    assert "waypath/" not in git(repo, "branch")
    apply(repo, allow_dirty=True)
    assert len(log(repo)) == 3
    assert (repo / "scratch.txt").read_text() == "wip\n"  # left alone, not committed
    assert "scratch.txt" not in git(repo, "show", "--name-only", "--format=", BRANCH)


def test_describe_file_inside_the_repo_is_tolerated(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo", meshy_files())
    apply(repo, describe_file=repo / "MR.md")
    text = (repo / "MR.md").read_text()
    assert text.startswith("# Upgrade meshy to stable-2.0.0\n")
    sha = git(repo, "rev-parse", BRANCH).strip()
    assert f"`{sha[:12]}`" in text
    apply(repo, describe_file=repo / "MR.md")  # the untracked MR.md is not "dirty"


def test_push_to_a_bare_remote(tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    repo = git_repo(tmp_path / "repo", meshy_files())
    git(repo, "remote", "add", "origin", str(remote))
    out = apply(repo, push_remote="origin")
    assert f"pushed {BRANCH} to origin" in out
    pushed = git(remote, "rev-parse", BRANCH).strip()
    assert pushed == git(repo, "rev-parse", BRANCH).strip()


def test_commit_options_need_commit(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo", meshy_files())
    with pytest.raises(UsageError, match="need --commit"):
        apply(repo, commit=False, branch="x")
