"""`waypath sync` and the Renovate hand-off, simulated: a `renovate/...` branch bumps
waypath.yaml, then sync adds the migration (CI route) or only writes it (post-upgrade task
route), reading the data file Renovate names in RENOVATE_POST_UPGRADE_COMMAND_DATA_FILE."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest

from engine.commands import sync as sync_command
from engine.errors import GitError, SafetyError, UsageError
from tests.commit_helpers import subjects, trailers, use_toy_recipes_and_fixed_git
from tests.helpers import git, git_repo, meshy_files

RENOVATE_BRANCH = "renovate/meshy-control-plane-10.x"

CONFIG = """\
apiVersion: waypath.dev/v1
kind: Config
components:
  meshy:
    # renovate: datasource=helm depName=meshy-control-plane registryUrl=https://charts.example.com/meshy
    version: {version}
"""


@pytest.fixture(autouse=True)
def _setup(monkeypatch: pytest.MonkeyPatch) -> None:
    use_toy_recipes_and_fixed_git(monkeypatch)


def sync(repo: Path, data: Path | None = None, **kwargs: object) -> str:
    out = io.StringIO()
    options: dict[str, object] = {
        "repo": repo,
        "recipe_dirs": [],
        "params": {},
        "assume": {},
        "no_commit": False,
        "allow_dirty": False,
        "wave": None,
        "describe_file": None,
        "branch": None,
        "base": None,
        "author": None,
        "push_remote": None,
        "force_branch": False,
        "environ": {} if data is None else {"RENOVATE_POST_UPGRADE_COMMAND_DATA_FILE": str(data)},
        **kwargs,
    }
    sync_command.run(out=out, **options)  # type: ignore[arg-type]
    return out.getvalue()


def fleet(root: Path, pin: str = "1.1.0", version: str = "stable-1.1.0") -> Path:
    return git_repo(root, {**meshy_files(pin=pin), "waypath.yaml": CONFIG.format(version=version)})


def renovate_bump(repo: Path, new: str, *, commit: bool = True) -> None:
    """What Renovate's regex manager does: edit the version line on its own branch."""
    git(repo, "checkout", "-q", "-b", RENOVATE_BRANCH)
    path = repo / "waypath.yaml"
    text = path.read_text()
    old = text.split("version: ")[1].splitlines()[0]
    path.write_text(text.replace(f"version: {old}", f"version: {new}"))
    if commit:
        git(repo, "add", "waypath.yaml")
        git(
            repo,
            "-c",
            "user.name=renovate[bot]",
            "-c",
            "user.email=bot@renovateapp.com",
            "commit",
            "-q",
            "--author=renovate[bot] <bot@renovateapp.com>",
            "-m",
            "chore(deps): update helm release meshy-control-plane to v10",
        )


def data_file(
    tmp_path: Path, dep: str, current: str, new: str, package_file: str = "waypath.yaml"
) -> Path:
    """The file `dataFileTemplate` of docs/renovate/renovate.json renders."""
    path = tmp_path / "renovate-data.json"
    path.write_text(
        json.dumps(
            {
                "upgrades": [
                    {
                        "depName": dep,
                        "packageFile": package_file,
                        "currentVersion": current,
                        "newVersion": new,
                    }
                ]
            }
        )
    )
    return path


def test_nothing_to_do_when_the_repo_is_at_the_desired_release(tmp_path: Path) -> None:
    repo = fleet(tmp_path / "repo")
    out = sync(repo)
    assert "nothing to do: no new commit on main" in out
    assert subjects(repo, "HEAD") == ["initial"]


def test_ci_route_commits_the_migration_on_the_renovate_branch(tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    repo = fleet(tmp_path / "repo")
    git(repo, "remote", "add", "origin", str(remote))
    renovate_bump(repo, "stable-2.0.0")
    data = data_file(tmp_path, "meshy-control-plane", "5.0.0", "10.0.0")  # chart versions
    out = sync(repo, data, push_remote="origin", describe_file=tmp_path / "mr.md")
    assert "renovate: meshy-control-plane 5.0.0 -> 10.0.0 (waypath.yaml)" in out
    assert subjects(repo, "main..HEAD") == [
        "chore(deps): update helm release meshy-control-plane to v10",
        "meshy: suspend meshy before the chart split [nonprod, prod]",
        "meshy: install meshy-crds and meshy-control-plane [nonprod, prod]",
    ]
    assert trailers(repo, "HEAD")["Waypath-Recipe"] == "stable-1.1-to-stable-2.0"
    assert git(remote, "rev-parse", RENOVATE_BRANCH) == git(repo, "rev-parse", "HEAD")
    assert "## Rolling back" in (tmp_path / "mr.md").read_text()
    # CI runs again on the pushed commits: idempotent
    out = sync(repo, data)
    assert f"nothing to do: no new commit on {RENOVATE_BRANCH}" in out
    assert len(subjects(repo, "main..HEAD")) == 3


def test_post_upgrade_task_route_writes_a_single_commit_upgrade(tmp_path: Path) -> None:
    repo = fleet(tmp_path / "repo", pin="1.0.0", version="stable-1.0.0")
    renovate_bump(repo, "stable-1.1.0", commit=False)  # Renovate commits after the task
    data = data_file(tmp_path, "meshy", "1.0.0", "1.1.0")
    out = sync(repo, data, no_commit=True)
    assert "wrote meshy@stable-1.1.0 to the working tree (not committed)" in out
    assert subjects(repo, "HEAD") == ["initial"]
    changed = sorted(git(repo, "diff", "--name-only").split())
    assert changed == [
        "clusters/nonprod/meshy/release.yaml",
        "clusters/prod/meshy/release.yaml",
        "waypath.yaml",
    ]
    assert 'version: "1.1.0"' in (repo / "clusters/prod/meshy/release.yaml").read_text()


def test_post_upgrade_task_refuses_to_squash_several_phases(tmp_path: Path) -> None:
    repo = fleet(tmp_path / "repo")
    renovate_bump(repo, "stable-2.0.0", commit=False)
    data = data_file(tmp_path, "meshy-control-plane", "5.0.0", "10.0.0")
    with pytest.raises(SafetyError, match="takes 2 commits") as exc:
        sync(repo, data, no_commit=True)
    assert "sync --push origin" in exc.value.render()
    assert sorted(git(repo, "diff", "--name-only").split()) == ["waypath.yaml"]


def test_data_that_disagrees_with_waypath_yaml_is_refused(tmp_path: Path) -> None:
    repo = fleet(tmp_path / "repo")
    renovate_bump(repo, "stable-2.0.0")
    wrong = data_file(tmp_path, "meshy", "1.1.0", "1.0.1")
    with pytest.raises(UsageError, match="does not match the repo") as exc:
        sync(repo, wrong)
    assert "asks for stable-2.0.0: check the regex manager" in exc.value.render()
    elsewhere = data_file(
        tmp_path, "meshy", "1.0.0", "1.1.0", package_file="clusters/prod/meshy/release.yaml"
    )
    with pytest.raises(UsageError, match="does not match the repo") as exc:
        sync(repo, elsewhere)
    assert "not in waypath.yaml" in exc.value.render()
    unknown = data_file(tmp_path, "meshy-control-plane", "10.0.0", "99.0.0")
    with pytest.raises(UsageError) as exc:
        sync(repo, unknown)
    assert "has no recipe for yet" in exc.value.render()


def test_an_upgrade_of_something_else_is_not_ours(tmp_path: Path) -> None:
    repo = fleet(tmp_path / "repo")
    data = data_file(tmp_path, "cert-manager", "1.0.0", "1.1.0", package_file="infra/cm.yaml")
    out = sync(repo, data)
    assert "Renovate bumped no component Waypath knows" in out


def test_sync_on_a_named_branch_follows_the_branch_rules(tmp_path: Path) -> None:
    repo = fleet(tmp_path / "repo", pin="1.0.0")  # behind waypath.yaml's stable-1.1.0
    git(repo, "branch", "upgrade")
    git(repo, "checkout", "-q", "upgrade")
    (repo / "x.txt").write_text("x\n")
    git(repo, "add", "x.txt")
    git(repo, "commit", "-q", "-m", "unrelated")
    git(repo, "checkout", "-q", "main")
    with pytest.raises(GitError, match="Waypath did not make"):
        sync(repo, branch="upgrade")
    out = sync(repo, branch="fresh")
    assert "made 1 commit(s) on new branch fresh" in out


def test_sync_needs_a_desired_release(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo", meshy_files())
    with pytest.raises(UsageError, match="declares no desired release"):
        sync(repo)


def test_json_report_of_a_sync(tmp_path: Path) -> None:
    repo = fleet(tmp_path / "repo")
    renovate_bump(repo, "stable-2.0.0")
    data = data_file(tmp_path, "meshy-control-plane", "5.0.0", "10.0.0")
    raw = json.loads(sync(repo, data, fmt="json"))
    assert {k: raw[k] for k in ("format_version", "command", "components", "branch", "made")} == {
        "format_version": 1,
        "command": "sync",
        "components": ["meshy"],
        "branch": RENOVATE_BRANCH,
        "made": 2,
    }
    assert raw["upgrades"] == [
        {"depName": "meshy-control-plane", "currentVersion": "5.0.0", "newVersion": "10.0.0",
         "packageFile": "waypath.yaml"}
    ]  # fmt: skip
    assert [c["sha"] for c in raw["commits"][:2]] == git(
        repo, "rev-list", "-2", "--reverse", "HEAD"
    ).split()
