"""The merge-request description written by `--describe` on plan and apply --commit."""

from __future__ import annotations

import io
import shlex
from pathlib import Path

import pytest

from engine.commands import plan as plan_command
from engine.output.describe import Described, describe
from tests.commit_helpers import apply, use_toy_recipes_and_fixed_git
from tests.helpers import git, git_repo, meshy_files

WAVES = """\
apiVersion: waypath.dev/v1
kind: Config
waves:
  - {name: nonprod, paths: [clusters/nonprod]}
  - {name: prod, paths: [clusters/prod]}
"""


@pytest.fixture(autouse=True)
def _setup(monkeypatch: pytest.MonkeyPatch) -> None:
    use_toy_recipes_and_fixed_git(monkeypatch)


def describe_plan(repo: Path, target: str, dest: Path) -> str:
    plan_command.run(
        repo=repo,
        target=target,
        recipe_dirs=[],
        params={},
        assume={},
        via=[],
        allow_unsupported=False,
        fmt="text",
        diff=False,
        out_file=None,
        out=io.StringIO(),
        describe_file=dest,
    )
    return dest.read_text()


def test_plan_description_has_every_part(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo", meshy_files(pin="1.1.0"))
    text = describe_plan(repo, "meshy@pro-3.0", tmp_path / "mr.md")
    assert text.startswith("# Upgrade meshy to pro-3.0.1\n")
    # the path and why
    assert "## Path and why" in text
    assert "| `clusters/prod` |  | stable-1.1.0 | pro-3.0.1 | `stable-1.1-to-stable-2.0` → `stable-2.0-to-pro-3.0` |" in text
    # per commit: what changes, where, manual steps as commands, the gate
    assert "### 1. meshy: suspend meshy before the chart split [nonprod, prod]\n" in text
    assert "- suspends HelmRelease `meshy` (namespace `meshy`)" in text
    assert (
        "- removes HelmRelease `meshy` (namespace `meshy`) (suspended first, so Flux orphans "
        "the release instead of uninstalling it)" in text
    )
    assert "  ```sh\n  kubectl annotate crd -l meshy.io/control-plane-ns" in text
    assert "**Gate before the next commit:** HelmRelease meshy is suspended" in text
    assert "### 3. Manual only (no commit): meshy: clean up after the split" in text
    # unverified facts: the recipe's and the flagged notes
    unverified = text.split("## Unverified facts")[1].split("##")[0]
    assert "- meshy pro accepts the oss values unchanged" in unverified
    assert "- Create the Secret meshy-license" in unverified
    # rollback, newest first, with the Flux caveats
    rollback = text.split("## Rolling back")[1]
    assert rollback.index("switch to the meshy-pro-control-plane chart") < rollback.index(
        "install meshy-crds and meshy-control-plane"
    )
    assert "`git revert --no-edit <sha>`" in rollback
    assert "brings back HelmRelease `meshy` (namespace `meshy`) with `suspend: true`" in rollback
    assert "Keep the suspend" in rollback
    assert "the revert resumes HelmRelease `meshy`" in rollback
    # no clock, no absolute paths: same input, same text
    assert describe_plan(repo, "meshy@pro-3.0", tmp_path / "again.md") == text
    assert str(tmp_path) not in text


def test_apply_description_names_the_commits_and_the_wave_gate(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo", {**meshy_files(pin="1.1.0"), "waypath.yaml": WAVES})
    apply(repo, describe_file=tmp_path / "mr.md")
    text = (tmp_path / "mr.md").read_text()
    shas = git(repo, "log", "--reverse", "--format=%H", "main..HEAD").split()
    assert len(shas) == 4
    for sha in shas:
        assert f"`{sha[:12]}`" in text
        assert f"git revert --no-edit {sha[:12]}" in text
    assert text.index("## Wave nonprod") < text.index("Validate wave nonprod before wave prod")
    assert text.index("Validate wave nonprod before wave prod") < text.index("## Wave prod")
    assert "git push origin <sha>:refs/heads/main" in text
    assert "the commits are on `waypath/meshy-stable-2.0.0`" in text


def test_description_after_a_rerun_lists_what_is_already_there(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo", meshy_files(pin="1.1.0"))
    apply(repo)
    apply(repo, describe_file=tmp_path / "mr.md")
    text = (tmp_path / "mr.md").read_text()
    assert "Already on this branch from an earlier run:" in text
    assert "meshy: install meshy-crds and meshy-control-plane [nonprod, prod]" in text


def test_one_marked_bullet_per_uninstall() -> None:
    from engine.planning.planner import PlanRequest, make_plan
    from engine.recipe.loading import load_library
    from engine.repo.workspace import Workspace

    root = Path(__file__).parent / "fixtures" / "addons-layout"
    plan = make_plan(
        Workspace(root), load_library([]),
        PlanRequest(target="linkerd@stable-2.12", assume={"linkerd": "stable-2.11.5"}),
    )
    text = describe([Described(plan, lambda p: (root / p).read_bytes() if (root / p).is_file() else None)])
    marked = [line for line in text.splitlines() if line.startswith("- **Flux uninstalls this release:**")]
    assert marked, text
    assert all("linkerd-viz" not in line for line in text.splitlines() if line.startswith("- removes"))
    viz = [line for line in marked if "/linkerd-viz (" in line]
    assert len(viz) == len(set(viz)) >= 1


def test_an_unverified_note_repeated_by_each_wave_is_listed_once(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo", {**meshy_files(pin="1.1.0"), "waypath.yaml": WAVES})
    text = describe_plan(repo, "meshy@pro-3.0", tmp_path / "mr.md")
    unverified = text.split("## Unverified facts")[1].split("\n## ")[0]
    lines = [line for line in unverified.splitlines() if "Create the Secret meshy-license" in line]
    assert len(lines) == 1
    assert "[nonprod]”" in lines[0] and "[prod]”" in lines[0]


def test_the_merge_command_quotes_a_base_branch_that_needs_it(tmp_path: Path) -> None:
    # valid for git (check-ref-format), not a word for the shell
    base = "rel$x'y;z"
    repo = git_repo(tmp_path / "repo", meshy_files(pin="1.1.0"))
    git(repo, "branch", "-m", "main", base)
    apply(repo, base=base, describe_file=tmp_path / "mr.md")
    [line] = [x for x in (tmp_path / "mr.md").read_text().splitlines() if "git push" in x]
    command = line.split("   #")[0]
    assert shlex.split(command) == ["git", "push", "origin", f"<sha>:refs/heads/{base}"]
