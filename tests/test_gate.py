"""`waypath gate check` on stacked rollouts: the preconditions written as trailers, a merge
of two dependent phases at once refused, one at a time passed, the live check through a
stand-in kubectl that returns recorded JSON, and bad refs."""

from __future__ import annotations

import io
import json
import os
import stat
import sys
from pathlib import Path

import pytest

from engine.cli import main
from engine.commands import gate as gate_command
from engine.errors import GitError
from engine.planning.preconditions import Condition
from tests.commit_helpers import apply, trailers, use_toy_recipes_and_fixed_git
from tests.helpers import git, git_repo, meshy_files

PREFIX = "waypath/meshy-stable-2.0.0"
BUMP, SUSPEND, SPLIT = (f"{PREFIX}/01-bump", f"{PREFIX}/02-suspend", f"{PREFIX}/03-split")
PROD = "clusters/prod/meshy/release.yaml"
NONPROD = "clusters/nonprod/meshy/release.yaml"


@pytest.fixture(autouse=True)
def _setup(monkeypatch: pytest.MonkeyPatch) -> None:
    use_toy_recipes_and_fixed_git(monkeypatch)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = git_repo(tmp_path / "repo", meshy_files())
    apply(repo, stack=True)
    return repo


def gate(repo: Path, base: str, head: str = "HEAD", **kwargs: object) -> str:
    out = io.StringIO()
    options: dict[str, object] = {"kubeconfig": None, "context": None, "cluster": None, **kwargs}
    gate_command.check(repo=repo, base=base, head=head, out=out, **options)  # type: ignore[arg-type]
    return out.getvalue()


def test_the_delete_requires_the_suspend_in_trailers(repo: Path) -> None:
    suspend = git(repo, "log", "-1", "--format=%B", SUSPEND)
    split = git(repo, "log", "-1", "--format=%B", SPLIT)
    assert f"Waypath-Provides: suspended meshy/meshy {NONPROD}\n" in suspend
    assert f"Waypath-Provides: suspended meshy/meshy {PROD}\n" in suspend
    assert f"Waypath-Requires: suspended meshy/meshy {NONPROD}\n" in split
    assert trailers(repo, SPLIT)["Waypath-Phase"] == "2/3 split"  # still one trailer block
    assert "Waypath-Requires" not in git(repo, "log", "-1", "--format=%B", BUMP)


def test_merging_suspend_and_delete_at_once_fails(repo: Path) -> None:
    with pytest.raises(gate_command.GateError) as exc:
        gate(repo, "main", SPLIT)  # the whole stack in one merge request
    text = exc.value.render()
    assert "would land a phase before the state it depends on is reconciled" in text
    sha = git(repo, "rev-parse", SPLIT).strip()[:12]
    provider = git(repo, "rev-parse", SUSPEND).strip()[:12]
    assert (
        f"  - {sha} meshy: install meshy-crds and meshy-control-plane [nonprod, prod] needs "
        f"suspended HelmRelease meshy/meshy ({NONPROD}) reconciled first, but {provider} "
        "meshy: suspend meshy before the chart split [nonprod, prod] is in the same merge"
    ) in text
    with pytest.raises(gate_command.GateError):
        gate(repo, BUMP, SPLIT)  # the suspend merged into step 1's branch first


def test_one_phase_at_a_time_passes(repo: Path) -> None:
    assert gate(repo, "main", BUMP).endswith("gate check passed\n")
    assert "gate check passed" in gate(repo, BUMP, SUSPEND)
    out = gate(repo, SUSPEND, SPLIT)  # the split alone, after the suspend is merged
    assert f"ok: {git(repo, 'rev-parse', SPLIT).strip()[:12]} needs suspended meshy/meshy ({PROD}), merged earlier" in out
    assert out.endswith("gate check passed\n")


def test_bad_refs_are_clear_errors(repo: Path) -> None:
    with pytest.raises(GitError, match="--base '--output=/tmp/x' is not a commit"):
        gate(repo, "--output=/tmp/x")
    with pytest.raises(GitError, match="--head 'nope' is not a commit") as exc:
        gate(repo, "main", "nope")
    assert "git fetch origin main" in exc.value.render()


def test_trailer_values_that_are_no_kubernetes_names_are_ignored() -> None:
    assert Condition.parse("suspended linkerd/linkerd a/b.yaml") == Condition(
        "suspended", "linkerd", "linkerd", "a/b.yaml"
    )
    assert Condition.parse("suspended linkerd/--kubeconfig=x a.yaml") is None
    assert Condition.parse("gone linkerd/linkerd a.yaml") is None


KUBECTL = """\
import json, sys
args = sys.argv[1:]
expected = json.load(open({expected!r}))
if args[:-3] != expected["prefix"] or args[-1] != "--output=json":
    sys.exit("unexpected arguments: " + " ".join(args))
key = args[-3].removeprefix("--namespace=") + "/" + args[-2]
if key not in expected["objects"]:
    print('Error from server (NotFound): helmreleases.helm.toolkit.fluxcd.io "' + args[-2] + '" not found', file=sys.stderr)
    sys.exit(1)
print(json.dumps(expected["objects"][key]))
"""


def stand_in_kubectl(tmp_path: Path, objects: dict[str, object]) -> Path:
    """A `kubectl` that checks its arguments and prints the recorded HelmRelease."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True)
    expected = bin_dir / "expected.json"
    kubeconfig = tmp_path / "kubeconfig"
    prefix = [f"--kubeconfig={kubeconfig}", "--context=prod", "get",
              "helmreleases.helm.toolkit.fluxcd.io"]
    expected.write_text(json.dumps({"prefix": prefix, "objects": objects}))
    script = bin_dir / "kubectl"
    script.write_text(f"#!{sys.executable}\n" + KUBECTL.format(expected=str(expected)))
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return kubeconfig


# As `kubectl get helmrelease -o json` prints it (fields trimmed to the ones read).
SUSPENDED = {
    "apiVersion": "helm.toolkit.fluxcd.io/v2",
    "kind": "HelmRelease",
    "metadata": {"name": "meshy", "namespace": "meshy", "generation": 4},
    "spec": {"suspend": True, "chart": {"spec": {"chart": "meshy", "version": "1.1.0"}}},
    "status": {"observedGeneration": 3, "conditions": [{"type": "Ready", "status": "True"}]},
}


def test_live_check_with_kubeconfig(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kubeconfig = stand_in_kubectl(tmp_path, {"meshy/meshy": SUSPENDED})
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    out = gate(
        repo, SUSPEND, SPLIT, kubeconfig=str(kubeconfig), context="prod", cluster="clusters/prod"
    )
    assert "ok: 1 precondition(s) hold in the cluster" in out
    not_yet = {**SUSPENDED, "spec": {"chart": SUSPENDED["spec"]["chart"]}}  # type: ignore[index]
    stand_in_kubectl(tmp_path / "again", {"meshy/meshy": not_yet})
    monkeypatch.setenv("PATH", f"{tmp_path / 'again' / 'bin'}:{os.environ['PATH']}")
    with pytest.raises(gate_command.GateError) as exc:
        gate(repo, SUSPEND, SPLIT, kubeconfig=str(tmp_path / "again" / "kubeconfig"),
             context="prod", cluster="clusters/prod")
    assert "HelmRelease meshy/meshy is not suspended in the cluster yet" in exc.value.render()


def test_command_line_exit_codes(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gate", "check", str(repo), "--base", "main", "--head", SPLIT]) == 1
    err = capsys.readouterr().err
    assert "error: this merge would land a phase before the state it depends on" in err
    assert "Traceback" not in err
    assert main(["gate", "check", str(repo), "--base", SUSPEND, "--head", SPLIT]) == 0
    assert capsys.readouterr().out.endswith("gate check passed\n")
    assert main(["gate", "check", str(repo), "--base", "-x"]) == 1
    assert "--base '-x' is not a commit" in capsys.readouterr().err


def test_a_namespace_left_to_kustomize_is_written_as_unset() -> None:
    assert Condition.parse("ready -/linkerd-crds base/crds.yaml") == Condition(
        "ready", "-", "linkerd-crds", "base/crds.yaml"
    )
