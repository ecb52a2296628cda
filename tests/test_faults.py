"""Faults mid-apply: a failure injected at every write and every git call of `apply`.

For `apply_plan` and `commit_plan`, each filesystem call (through the `Fs` seam) and each
git call (`Git.run`) fails in turn: disk full (ENOSPC), permission denied (EACCES), and a
simulated kill (KeyboardInterrupt) before the call and, for git, after the call did its
work. Afterwards the working tree, index, HEAD and branch must be exactly as before, or
exactly as after a whole commit; then a second run (plan again, apply again) completes the
job. Pins: write_changes' journal and rollback, _commit_one's put-back, the lock's release.

The default run injects one fault kind per call, rotating through the kinds (so every call
and every kind is hit); WAYPATH_SLOW=1 runs the whole matrix, every kind at every call.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from engine.errors import GitError, WaypathError
from engine.output.apply import Fs, apply_plan, commit_plan, exclusive
from engine.output.gitcli import Git
from engine.planning.planmodel import Plan
from engine.planning.planner import PlanRequest, make_plan
from engine.recipe.loading import load_library
from engine.repo.workspace import Workspace
from tests.helpers import RECIPES, git, git_repo, hermetic_git, meshy_files, snapshot_bytes

TARGET = "meshy@stable-2.0"
FAULTS_INJECTED: dict[str, int] = {}  # kind -> count, printed at the end (the lead's figures)


class Killed(KeyboardInterrupt):
    """A simulated kill: a BaseException, as Ctrl-C or SIGTERM turned into one would be."""


def enospc() -> BaseException:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def eacces() -> BaseException:
    return OSError(errno.EACCES, os.strerror(errno.EACCES))


FS_FAULTS: dict[str, Callable[[], BaseException]] = {
    "ENOSPC": enospc,
    "EACCES": eacces,
    "kill": Killed,
}


@pytest.fixture(autouse=True)
def _hermetic_git(monkeypatch: pytest.MonkeyPatch) -> None:
    hermetic_git(monkeypatch)


@pytest.fixture(scope="module")
def library() -> Any:
    return load_library([RECIPES], include_bundled=False)


def make(repo: Path, library: Any) -> Plan:
    return make_plan(Workspace(repo), library, PlanRequest(target=TARGET))


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repo at stable-1.1.0 (the 2.0 path: suspend, then split, then a notes-only phase)."""
    root = tmp_path_factory.mktemp("template") / "repo"
    return git_repo(root, meshy_files(pin="1.1.0"))


def fresh(template: Path, tmp_path: Path, n: int) -> Path:
    repo = tmp_path / f"r{n}"
    shutil.copytree(template, repo, symlinks=True)
    return repo


def state(repo: Path) -> tuple[Any, ...]:
    """Everything that must be whole: files, HEAD's tree, the branch, a clean index."""
    status = git(repo, "status", "--porcelain", "--untracked-files=all")
    return (
        snapshot_bytes(repo),
        git(repo, "rev-parse", "HEAD^{tree}").strip(),
        git(repo, "symbolic-ref", "--short", "HEAD").strip(),
        status,
        os.path.exists(repo / ".git" / "waypath.lock"),
    )


@contextmanager
def failing_fs(
    monkeypatch: pytest.MonkeyPatch, at: int | None, exc: Callable[[], BaseException]
) -> Iterator[list[str]]:
    """Every Fs call is counted; call number `at` raises (a write writes half first)."""
    calls: list[str] = []
    with monkeypatch.context() as patch:
        for name in ("mkdir", "rmdir", "write", "replace", "remove"):
            original = getattr(Fs, name)

            def wrapper(self: Fs, *args: Any, _name: str = name, _orig: Any = original) -> Any:
                calls.append(f"{_name} {Path(args[0]).name}")
                if len(calls) - 1 == at:
                    if _name == "write":
                        Path(args[0]).write_bytes(args[1][: len(args[1]) // 2])
                    raise exc()
                return _orig(self, *args)

            patch.setattr(Fs, name, wrapper)
        yield calls


@contextmanager
def failing_git(monkeypatch: pytest.MonkeyPatch, at: int | None, mode: str) -> Iterator[list[str]]:
    """Every Git.run is counted; call number `at` fails. Modes: `enospc` (git exits 128 with
    'No space left on device'), `eacces` (git cannot be started), `kill-before` (killed
    before the command ran), `kill-after` (the command did its work, then the kill)."""
    calls: list[str] = []
    original = Git.run

    def run(self: Git, *args: str, **kwargs: Any) -> Any:
        calls.append(args[0])
        if len(calls) - 1 != at:
            return original(self, *args, **kwargs)
        if mode == "enospc":
            raise GitError(f"`git {args[0]}` failed (exit 128): fatal: No space left on device")
        if mode == "eacces":
            raise eacces()
        if mode == "kill-before":
            raise Killed()
        original(self, *args, **kwargs)
        raise Killed()

    with monkeypatch.context() as patch:
        patch.setattr(Git, "run", run)
        yield calls


FULL = bool(os.environ.get("WAYPATH_SLOW"))


def kinds_at(at: int, kinds: list[str]) -> list[str]:
    return kinds if FULL else [kinds[at % len(kinds)]]


def count(kind: str) -> None:
    FAULTS_INJECTED[kind] = FAULTS_INJECTED.get(kind, 0) + 1


def expect_failure(action: Callable[[], object]) -> None:
    with pytest.raises((WaypathError, OSError, KeyboardInterrupt)):
        action()


def done_at(calls: list[str]) -> int:
    """The call that marks a write whole (the journal's rename to .done): a fault after it
    is in the clean-up of the kept originals, which the write survives."""
    return calls.index("replace waypath-journal.json")


def outcome(action: Callable[[], object]) -> bool:
    """True when `action` failed as a fault may make it fail."""
    try:
        action()
    except (WaypathError, OSError, KeyboardInterrupt):
        return True
    return False


# -- reference runs -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference(
    template: Path, library: Any, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """The states a commit_plan run passes through, and the result of apply_plan."""
    base = tmp_path_factory.mktemp("reference")
    repo = fresh(template, base, 0)
    plan = make(repo, library)
    states = [state(repo)]
    committed = [c for c in plan.commits if c.changes]
    assert len(committed) >= 2, "the plan must have several commits to fault between"
    for number in range(1, len(committed) + 1):  # state after each whole commit
        step = fresh(template, base, number)
        partial = make(step, library)
        partial.commits = [c for c in partial.commits if c.changes][:number]
        commit_plan(step, partial, branch=None)
        states.append(state(step))
    applied = fresh(template, base, 99)
    apply_plan(applied, make(applied, library))
    return {"states": states, "applied": snapshot_bytes(applied)}


def test_commit_states_differ(reference: dict[str, Any]) -> None:
    trees = [s[1] for s in reference["states"]]
    assert len(set(trees)) == len(trees)


# -- apply_plan ----------------------------------------------------------------------------


def _calls(action: Callable[[], object], spy: Any) -> int:
    with spy as calls:
        action()
    return len(calls)


def test_apply_plan_survives_a_fault_at_every_write(
    template: Path,
    library: Any,
    reference: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    probe = fresh(template, tmp_path, 0)
    plan = make(probe, library)
    with failing_fs(monkeypatch, None, enospc) as names:
        apply_plan(probe, plan)
    total, done = len(names), done_at(names)
    assert total >= 8
    n = 0
    for at in range(total):
        for kind in kinds_at(at, list(FS_FAULTS)):
            exc = FS_FAULTS[kind]
            n += 1
            repo = fresh(template, tmp_path, n)
            before = state(repo)
            plan = make(repo, library)
            with failing_fs(monkeypatch, at, exc):
                failed = outcome(lambda: apply_plan(repo, plan))  # noqa: B023
            count(f"apply_plan fs {kind}")
            if at <= done:
                assert failed, (at, kind)
                assert state(repo) == before, (at, kind)
                apply_plan(repo, make(repo, library))  # the second apply completes the job
            else:  # the write was whole: the next run only removes the kept originals
                with exclusive(repo):
                    pass
            assert snapshot_bytes(repo) == reference["applied"], (at, kind)


GIT_MODES = ["enospc", "eacces", "kill-before", "kill-after"]


def test_apply_plan_survives_a_fault_at_every_git_call(
    template: Path,
    library: Any,
    reference: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    probe = fresh(template, tmp_path, 0)
    plan = make(probe, library)
    total = _calls(lambda: apply_plan(probe, plan), failing_git(monkeypatch, None, "enospc"))
    assert total >= 2
    cases = [(at, mode) for at in range(total) for mode in GIT_MODES]  # few calls: all
    for n, (at, mode) in enumerate(cases):
        repo = fresh(template, tmp_path, n + 1)
        before = state(repo)
        plan = make(repo, library)
        with failing_git(monkeypatch, at, mode):
            expect_failure(lambda: apply_plan(repo, plan))  # noqa: B023
        count(f"apply_plan git {mode}")
        assert state(repo) == before, (at, mode)
        apply_plan(repo, make(repo, library))
        assert snapshot_bytes(repo) == reference["applied"]


# -- commit_plan ---------------------------------------------------------------------------


def _whole(repo: Path, reference: dict[str, Any], where: object) -> None:
    now = state(repo)
    assert now in reference["states"], f"{where}: in between: {now[1:]}"


def _finish(repo: Path, library: Any, reference: dict[str, Any]) -> None:
    """The second run: plan again from where the fault left the repo, commit the rest."""
    plan = make(repo, library)
    if plan.has_changes:
        commit_plan(repo, plan, branch=None)
    assert state(repo) == reference["states"][-1]


def test_commit_plan_survives_a_fault_at_every_write(
    template: Path,
    library: Any,
    reference: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    probe = fresh(template, tmp_path, 0)
    plan = make(probe, library)
    with failing_fs(monkeypatch, None, enospc) as names:
        commit_plan(probe, plan, branch=None)
    total = len(names)
    starts = [at for at, name in enumerate(names) if name == "write waypath-journal.json.tmp"]
    assert total >= 8
    n = 0
    for at in range(total):
        for kind in kinds_at(at, list(FS_FAULTS)):
            exc = FS_FAULTS[kind]
            n += 1
            repo = fresh(template, tmp_path, n)
            plan = make(repo, library)
            with failing_fs(monkeypatch, at, exc):
                failed = outcome(lambda: commit_plan(repo, plan, branch=None))  # noqa: B023
            count(f"commit_plan fs {kind}")
            if not failed:  # a fault in a clean-up: the next run removes what is left
                assert kind != "kill" and at not in starts, (at, kind)
                with exclusive(repo):
                    pass
            _whole(repo, reference, (at, kind))
            _finish(repo, library, reference)


def test_commit_plan_survives_a_fault_at_every_git_call(
    template: Path,
    library: Any,
    reference: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    probe = fresh(template, tmp_path, 0)
    plan = make(probe, library)
    with failing_git(monkeypatch, None, "enospc") as names:
        commit_plan(probe, plan, branch=None)
    calls = list(names)
    cases = [(at, mode) for at in range(len(calls)) for mode in kinds_at(at, GIT_MODES)]
    # kill-after at `git commit` is the case that once left HEAD and the tree apart.
    cases += [(at, "kill-after") for at, name in enumerate(calls) if name == "commit"]
    for n, (at, mode) in enumerate(cases):
        repo = fresh(template, tmp_path, n + 1)
        plan = make(repo, library)
        with failing_git(monkeypatch, at, mode):
            expect_failure(lambda: commit_plan(repo, plan, branch=None))  # noqa: B023
        count(f"commit_plan git {mode}")
        _whole(repo, reference, (at, calls[at], mode))
        _finish(repo, library, reference)


def test_zz_fault_figures(capsys: pytest.CaptureFixture[str]) -> None:
    # Runs last in this module (pytest keeps file order): the figures for the lead.
    total = sum(FAULTS_INJECTED.values())
    with capsys.disabled():
        print(f"\n[faults] {total} faults injected, none lost or half-wrote anything:")
        for kind, number in sorted(FAULTS_INJECTED.items()):
            print(f"[faults]   {kind}: {number}")
    if FAULTS_INJECTED:  # empty when a subset of this module was selected
        assert total >= (200 if FULL else 70)
