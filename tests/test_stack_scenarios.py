"""The stacked rollout on the example repo and on the base-overlays fixture, with the
bundled Linkerd recipes: N phase commits give N branches, each based on the one before,
and N descriptions; a re-run changes nothing."""

from __future__ import annotations

import io
import itertools
import subprocess
from pathlib import Path

import pytest

from engine.commands.gate import GateError
from engine.commands.gate import check as gate_check
from engine.planning.planner import PlanRequest, make_plan
from engine.recipe.loading import load_library
from engine.repo.workspace import Workspace
from tests.commit_helpers import apply
from tests.helpers import GIT_ENV, git, git_repo

ROOT = Path(__file__).resolve().parents[1]
PREFIX = "waypath/linkerd-enterprise-2.16.5"

SCENARIOS = {
    "example": (ROOT / "examples", {}),
    "base-overlays": (ROOT / "tests" / "fixtures" / "base-overlays", {"linkerd": "stable-2.11.5"}),
}


def phase_commits(repo: Path, assume: dict[str, str]) -> list[str]:
    """`NN-<phase>` of every commit the plan makes, as the stack should name its branches."""
    request = PlanRequest(target="linkerd@enterprise-2.16", params={}, assume=assume)
    plan = make_plan(Workspace(repo), load_library([]), request)
    made = [c for c in plan.commits if c.changes]
    return [f"{n:02d}-{c.phase}" for n, c in enumerate(made, 1)]


NO_CLUSTER: dict[str, object] = {"kubeconfig": None, "context": None, "cluster": None}


def check(**kwargs: object) -> int:
    return gate_check(out=io.StringIO(), **kwargs)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _fixed_git(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)


def repo_from(source: Path, dest: Path) -> Path:
    files = {
        p.relative_to(source).as_posix(): p.read_bytes()
        for p in sorted(source.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }
    return git_repo(dest, files)


def heads(repo: Path) -> dict[str, str]:
    raw = git(repo, "for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads/")
    return dict(line.split(" ") for line in raw.splitlines())


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_stack_on_fixture(tmp_path: Path, name: str) -> None:
    source, assume = SCENARIOS[name]
    repo = repo_from(source, tmp_path / "repo")
    expected = phase_commits(repo, assume)
    assert len(expected) >= 8  # the 2.11 -> 2.16 path: suspend, split, ... control planes
    mr = tmp_path / "mr"
    apply(repo, target="linkerd@enterprise-2.16", assume=assume, stack=True, describe_file=mr)
    branches = [f"{PREFIX}/{b}" for b in expected]
    assert sorted(heads(repo)) == sorted(["main", *branches])
    assert sorted(p.name for p in mr.iterdir()) == [f"{b}.md" for b in expected]
    chain = ["main", *branches]
    for older, newer in itertools.pairwise(chain):
        check = subprocess.run(["git", "-C", str(repo), "merge-base", "--is-ancestor", older, newer])
        assert check.returncode == 0, (older, newer)
        # exactly one commit per step
        assert git(repo, "rev-list", "--count", f"{older}..{newer}").strip() == "1"
    before = heads(repo)
    texts = {p.name: p.read_bytes() for p in mr.iterdir()}
    out = apply(repo, target="linkerd@enterprise-2.16", assume=assume, stack=True, describe_file=mr)
    assert f"nothing to do: no new branch in the stack {PREFIX}/" in out
    assert heads(repo) == before
    assert {p.name: p.read_bytes() for p in mr.iterdir()} == texts


def test_gate_check_on_the_example_stack(tmp_path: Path) -> None:
    """Merging the suspend and the split together fails; each on its own passes; the CRDs
    and the control plane that depends on them fail together too."""
    source, assume = SCENARIOS["example"]
    repo = repo_from(source, tmp_path / "repo")
    names = phase_commits(repo, assume)
    apply(repo, target="linkerd@enterprise-2.16", assume=assume, stack=True)
    branch = {n: f"{PREFIX}/{n}" for n in names}
    suspend, split = names[0], names[1]
    assert (suspend, split) == ("01-suspend", "02-split")
    with pytest.raises(GateError, match="suspended HelmRelease linkerd/linkerd"):
        check(repo=repo, base="main", head=branch[split], **NO_CLUSTER)
    assert check(repo=repo, base="main", head=branch[suspend], **NO_CLUSTER) == 0
    assert check(repo=repo, base=branch[suspend], head=branch[split], **NO_CLUSTER) == 0
    crds = next(n for n in names if n.endswith("-crds"))
    control_plane = names[names.index(crds) + 1]
    with pytest.raises(GateError, match="ready HelmRelease linkerd/linkerd-enterprise-crds"):
        check(repo=repo, base=branch[names[names.index(crds) - 1]], head=branch[control_plane],
              **NO_CLUSTER)
    assert check(repo=repo, base=branch[crds], head=branch[control_plane], **NO_CLUSTER) == 0
