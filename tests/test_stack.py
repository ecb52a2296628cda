"""`apply --commit --stack`: one branch per phase commit, each based on the one before, one
description per branch, idempotent re-runs, merged branches recognised, pushes — on real
git repos in tmp_path, with the toy recipes."""

from __future__ import annotations

import io
import itertools
import subprocess
from pathlib import Path

import pytest

from engine.commands import sync as sync_command
from engine.errors import GitError, UsageError
from tests.commit_helpers import apply, subjects, use_toy_recipes_and_fixed_git
from tests.helpers import git, git_repo, meshy_files

PREFIX = "waypath/meshy-stable-2.0.0"
NAMES = [f"{PREFIX}/01-bump", f"{PREFIX}/02-suspend", f"{PREFIX}/03-split"]


@pytest.fixture(autouse=True)
def _setup(monkeypatch: pytest.MonkeyPatch) -> None:
    use_toy_recipes_and_fixed_git(monkeypatch)


def refs(repo: Path) -> dict[str, str]:
    raw = git(repo, "for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads/")
    return dict(line.split(" ") for line in raw.splitlines())


def is_ancestor(repo: Path, older: str, newer: str) -> bool:
    proc = subprocess.run(
        ["git", "-C", str(repo), "merge-base", "--is-ancestor", older, newer], check=False
    )
    return proc.returncode == 0


def stack(repo: Path, tmp_path: Path, **kwargs: object) -> str:
    return apply(repo, stack=True, describe_file=tmp_path / "mr", **kwargs)


def test_one_branch_per_phase_each_on_the_one_before(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo", meshy_files())
    out = stack(repo, tmp_path)
    assert sorted(refs(repo)) == ["main", *NAMES]
    for number, name in enumerate(NAMES, 1):
        # branch NN holds commits 1..NN
        assert len(subjects(repo, f"main..{name}")) == number
    assert subjects(repo, f"main..{NAMES[2]}") == [
        "meshy: upgrade to stable-1.1.0 [nonprod, prod]",
        "meshy: suspend meshy before the chart split [nonprod, prod]",
        "meshy: install meshy-crds and meshy-control-plane [nonprod, prod]",
    ]
    chain = ["main", *NAMES]
    assert all(is_ancestor(repo, a, b) for a, b in itertools.pairwise(chain))
    assert git(repo, "rev-parse", f"{NAMES[1]}^").strip() == git(repo, "rev-parse", NAMES[0]).strip()
    assert sorted(p.name for p in (tmp_path / "mr").iterdir()) == [
        "01-bump.md", "02-suspend.md", "03-split.md",
    ]
    assert "made 3 branch(es) on top of main" in out
    assert "  (manual only, no commit) meshy: clean up after the split [nonprod, prod]" in out
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip() == NAMES[2]
    assert git(repo, "status", "--porcelain") == ""


def test_descriptions_say_the_order_the_gate_and_the_manual_steps(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo", meshy_files())
    stack(repo, tmp_path)
    first = (tmp_path / "mr" / "01-bump.md").read_text()
    second = (tmp_path / "mr" / "02-suspend.md").read_text()
    third = (tmp_path / "mr" / "03-split.md").read_text()
    assert first.startswith("# 01/03 meshy: upgrade to stable-1.1.0 [nonprod, prod]\n\n")
    assert "Merge it into `main`, let Flux reconcile" in first
    assert "Merge only after" not in first
    assert (
        f"**Merge only after the merge request of `{NAMES[0]}` is merged and its gate passed.**"
        in second
    )
    assert f"This merge request targets `{NAMES[0]}`, so it shows only this step." in second
    assert "**Gate before the next commit:** HelmRelease meshy is suspended" in second
    sha = git(repo, "rev-parse", NAMES[2]).strip()
    assert f"### 3. meshy: install meshy-crds and meshy-control-plane [nonprod, prod] — `{sha[:12]}`" in third
    assert "- [ ] Annotate the CRDs so the meshy-crds release adopts them" in third
    # the manual-only phase after it is in this step's description, not lost
    assert "## Manual-only steps after this one (no commit)" in third
    assert "- [ ] Delete the Helm release secrets of the old release meshy" in third
    assert f"`git revert --no-edit {sha[:12]}`" in third


def test_rerun_changes_nothing(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo", meshy_files())
    stack(repo, tmp_path)
    before = refs(repo)
    texts = {p.name: p.read_bytes() for p in (tmp_path / "mr").iterdir()}
    out = stack(repo, tmp_path)  # on the top branch
    assert f"nothing to do: no new branch in the stack {PREFIX}/" in out
    git(repo, "checkout", "-q", "main")
    out = stack(repo, tmp_path)  # and from main
    assert "nothing to do" in out
    assert refs(repo) == before
    assert {p.name: p.read_bytes() for p in (tmp_path / "mr").iterdir()} == texts
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"


def test_merged_branch_is_done_and_the_rest_kept(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo", meshy_files())
    stack(repo, tmp_path)
    before = refs(repo)
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "-m", "Merge step 1", NAMES[0])  # a merge request
    out = stack(repo, tmp_path)
    assert f"{before[NAMES[0]][:12]} {NAMES[0]} (merged)" in out
    assert f"{before[NAMES[1]][:12]} {NAMES[1]} (kept)" in out
    assert "nothing to do" in out
    assert {k: v for k, v in refs(repo).items() if k != "main"} == {
        k: v for k, v in before.items() if k != "main"
    }
    # the forge deleted the merged branch: the stack still stands
    git(repo, "branch", "-q", "-D", NAMES[0])
    assert "nothing to do" in stack(repo, tmp_path)


def test_new_phases_go_on_top_of_the_open_stack(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo", meshy_files())
    stack(repo, tmp_path)
    git(repo, "checkout", "-q", "main")
    out = stack(repo, tmp_path, target="meshy@pro-3.0", branch=PREFIX)
    assert f"{PREFIX}/04-rename" in out
    assert git(repo, "rev-parse", f"{PREFIX}/04-rename^").strip() == git(
        repo, "rev-parse", NAMES[2]
    ).strip()
    assert sorted(p.name for p in (tmp_path / "mr").iterdir())[-1] == "04-rename.md"


def test_after_everything_merged_new_phases_start_from_the_base(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo", meshy_files())
    stack(repo, tmp_path)
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--ff-only", NAMES[2])
    (repo / "README.md").write_text("unrelated\n")
    git(repo, "add", "README.md")
    git(repo, "commit", "-q", "-m", "unrelated work on main")
    stack(repo, tmp_path, target="meshy@pro-3.0", branch=PREFIX)
    new = f"{PREFIX}/04-rename"
    assert git(repo, "rev-parse", f"{new}^").strip() == git(repo, "rev-parse", "main").strip()
    text = (tmp_path / "mr" / "04-rename.md").read_text()
    assert "Merge it into `main`" in text  # the branches before it are merged


def test_a_fix_pushed_under_a_later_branch_breaks_the_stack(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo", meshy_files())
    stack(repo, tmp_path)
    git(repo, "checkout", "-q", NAMES[0])
    (repo / "fix.txt").write_text("review fix\n")
    git(repo, "add", "fix.txt")
    git(repo, "commit", "-q", "-m", "review fix")
    git(repo, "checkout", "-q", "main")
    before = refs(repo)
    with pytest.raises(GitError, match=f"branch {NAMES[1]} is not based on {NAMES[0]}") as exc:
        stack(repo, tmp_path)
    assert "git rebase --update-refs" in exc.value.render()
    assert refs(repo) == before
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"


def test_foreign_commit_on_a_stack_branch_needs_force(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo", meshy_files())
    stack(repo, tmp_path)
    git(repo, "checkout", "-q", NAMES[2])
    (repo / "notes.txt").write_text("mine\n")
    git(repo, "add", "notes.txt")
    git(repo, "commit", "-q", "-m", "my own work")
    with pytest.raises(GitError, match="1 commit\\(s\\) Waypath did not make"):
        stack(repo, tmp_path)
    assert "nothing to do" in stack(repo, tmp_path, force_branch=True)


def test_a_branch_named_like_the_prefix_is_refused(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo", meshy_files())
    git(repo, "branch", PREFIX)
    with pytest.raises(GitError, match=f"branch {PREFIX} exists") as exc:
        stack(repo, tmp_path)
    assert "--branch OTHER" in exc.value.render()
    assert sorted(refs(repo)) == ["main", PREFIX]


@pytest.mark.parametrize("base", ["--upload-pack=touch /tmp/x", "no-such-branch"])
def test_a_bad_base_is_a_clear_error(tmp_path: Path, base: str) -> None:
    repo = git_repo(tmp_path / "repo", meshy_files())
    with pytest.raises(GitError, match="is not a branch or commit of this repository"):
        stack(repo, tmp_path, base=base)
    assert sorted(refs(repo)) == ["main"]


def test_push_sends_the_open_branches_only(tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    repo = git_repo(tmp_path / "repo", meshy_files())
    git(repo, "remote", "add", "origin", str(remote))
    out = stack(repo, tmp_path, push_remote="origin")
    assert "pushed 3 branch(es) to origin" in out
    assert refs(remote) == {k: v for k, v in refs(repo).items() if k != "main"}
    # step 1 merged and its branch deleted on the forge: a re-run does not push it back
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--ff-only", NAMES[0])
    git(remote, "branch", "-q", "-D", NAMES[0])
    out = stack(repo, tmp_path, push_remote="origin")
    assert "pushed 2 branch(es) to origin" in out
    assert sorted(refs(remote)) == NAMES[1:]


def test_stack_options(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo", meshy_files())
    with pytest.raises(UsageError, match="need --commit"):
        apply(repo, commit=False, stack=True)
    with pytest.raises(UsageError, match="--open needs --stack"):
        apply(repo, open_forge="github")
    with pytest.raises(UsageError, match="--open needs --push REMOTE"):
        stack(repo, tmp_path, open_forge="github")
    (tmp_path / "mr").mkdir()
    with pytest.raises(UsageError, match="is a folder"):
        apply(repo, describe_file=tmp_path / "mr")
    assert sorted(refs(repo)) == ["main"]


def test_describe_folder_inside_the_repo_is_not_dirt(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo", meshy_files())
    apply(repo, stack=True, describe_file=repo / "mr")
    git(repo, "checkout", "-q", "main")
    out = apply(repo, stack=True, describe_file=repo / "mr", target="meshy@pro-3.0", branch=PREFIX)
    assert f"{PREFIX}/04-rename" in out


def test_sync_stack_makes_the_same_branches(tmp_path: Path) -> None:
    config = (
        "apiVersion: waypath.dev/v1\nkind: Config\n"
        "components:\n  meshy:\n    version: stable-2.0.0\n"
    )
    repo = git_repo(tmp_path / "repo", {**meshy_files(), "waypath.yaml": config})
    out = io.StringIO()
    sync_command.run(
        repo=repo, recipe_dirs=[], params={}, assume={}, no_commit=False, allow_dirty=False,
        wave=None, describe_file=tmp_path / "mr", branch=None, base=None, author=None,
        push_remote=None, force_branch=False, out=out, environ={}, stack=True,
    )
    assert sorted(refs(repo)) == ["main", *NAMES]
    assert "made 3 branch(es) on top of main" in out.getvalue()
    assert len(list((tmp_path / "mr").iterdir())) == 3
    with pytest.raises(UsageError, match="--stack make commits"):
        sync_command.run(
            repo=repo, recipe_dirs=[], params={}, assume={}, no_commit=True, allow_dirty=False,
            wave=None, describe_file=None, branch=None, base=None, author=None,
            push_remote=None, force_branch=False, out=out, environ={}, stack=True,
        )


def test_description_names_the_precondition(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo", meshy_files())
    stack(repo, tmp_path)
    third = (tmp_path / "mr" / "03-split.md").read_text()
    assert "## Precondition (checked by `waypath gate check`)" in third
    assert (
        "- HelmRelease `meshy/meshy` (`clusters/prod/meshy/release.yaml`) is suspended in the "
        "cluster before this step is merged"
    ) in third
    assert "Precondition" not in (tmp_path / "mr" / "02-suspend.md").read_text()
