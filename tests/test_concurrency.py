"""Two Waypath runs on one repository at once: one holds the lock for its whole run
(planning, branch checks, checkouts, commits), the other fails at once, says who holds
the lock, and changes nothing. Real processes (`python -m engine.cli`), not threads,
except where a test needs two takers at the same instant.

Pins: lock.repo_lock (an OS lock on .git/waypath.lock), commands.common.exclusive (held
around the whole of apply, apply --commit and sync), and the stale-input check.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from engine.cli import main
from engine.errors import GitError
from engine.output.lock import repo_lock
from tests.helpers import RECIPES, git, git_repo, hermetic_git, meshy_files, snapshot_bytes

ROOT = Path(__file__).resolve().parent.parent
CLUSTERS = tuple(f"c{n:02}" for n in range(24))  # a plan big enough for the runs to overlap
TRIALS = int(os.environ.get("WAYPATH_CONCURRENT_TRIALS", "4"))
HELD = re.compile(
    r"^error: another waypath run holds (\S+)/waypath\.lock since "
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(pid (\d+)\)$",
    re.MULTILINE,
)
FIGURES: dict[str, int] = {}


@pytest.fixture(autouse=True)
def _hermetic_git(monkeypatch: pytest.MonkeyPatch) -> None:
    hermetic_git(monkeypatch, date=None)


def waypath(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "engine.cli", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def apply_args(repo: Path, *extra: str) -> list[str]:
    return ["apply", str(repo), "--to", "meshy@stable-2.0", "--recipes", str(RECIPES), *extra]


def refs(repo: Path) -> str:
    return git(repo, "for-each-ref", "--format=%(refname) %(objectname)") + git(
        repo, "symbolic-ref", "HEAD"
    )


@pytest.fixture
def expected(tmp_path: Path) -> dict[str, bytes]:
    """The tree after one apply on its own."""
    repo = git_repo(tmp_path / "alone", meshy_files(clusters=CLUSTERS, pin="1.1.0"))
    assert main(apply_args(repo)) == 0
    return snapshot_bytes(repo)


def test_two_applies_at_once(tmp_path: Path, expected: dict[str, bytes]) -> None:
    repo = git_repo(tmp_path / "repo", meshy_files(clusters=CLUSTERS, pin="1.1.0"))
    runs = [waypath(*apply_args(repo)) for _ in range(2)]  # started together
    results = [(run.wait(timeout=120), *run.communicate()) for run in runs]
    codes = sorted(code for code, _, _ in results)
    assert codes in ([0, 0], [0, 1]), results
    for code, out, err in results:
        assert "Traceback" not in out + err
        if code == 1:
            assert HELD.search(err) or "uncommitted changes" in err, err
    assert snapshot_bytes(repo) == expected
    assert not (repo / ".git" / "waypath.lock").exists()


def test_two_committing_applies_on_different_branches(tmp_path: Path) -> None:
    """The issue's repro: `apply --commit` and `apply --commit --branch other` at once.
    Before the lock covered the whole run, the winner's commits landed on main in 4 of 10
    trials. Now: main never moves, the winner's branch holds all its commits, and the
    loser (if there is one) changed nothing, not even HEAD."""
    alone = git_repo(tmp_path / "alone", meshy_files(clusters=CLUSTERS, pin="1.1.0"))
    assert main(apply_args(alone, "--commit", "--branch", "w")) == 0
    made = git(alone, "log", "--format=%s", "main..w").splitlines()
    assert len(made) >= 2
    for trial in range(TRIALS):
        repo = git_repo(tmp_path / f"r{trial}", meshy_files(clusters=CLUSTERS, pin="1.1.0"))
        main_before = git(repo, "rev-parse", "main")
        runs = [
            waypath(*apply_args(repo, "--commit", "--branch", "one")),
            waypath(*apply_args(repo, "--commit", "--branch", "two")),
        ]
        results = [(run.wait(timeout=120), *run.communicate()) for run in runs]
        FIGURES["concurrent trials"] = FIGURES.get("concurrent trials", 0) + 1
        for code, out, err in results:
            assert code in (0, 1), (code, out, err)
            assert "Traceback" not in out + err
        assert git(repo, "rev-parse", "main") == main_before, trial
        # A run that starts after the other ended finds nothing left to do (it plans from
        # the branch the first one left checked out) and makes no branch.
        winners = [name for (code, out, _), name in zip(results, ("one", "two"), strict=True)
                   if code == 0 and "made" in out]
        assert len(winners) == 1, results
        head = git(repo, "symbolic-ref", "--short", "HEAD").strip()
        assert git(repo, "log", "--format=%s", f"main..{winners[0]}").splitlines() == made
        for (code, out, err), name in zip(results, ("one", "two"), strict=True):
            if name not in winners:
                assert git(repo, "branch", "--list", name) == ""
            if code == 1:
                assert HELD.search(err), err
                assert out == ""
        assert head == winners[0]
        assert git(repo, "status", "--porcelain") == ""


HOLDER = """
import sys
from pathlib import Path
from engine.output.lock import repo_lock
with repo_lock(Path(sys.argv[1])):
    print("locked", flush=True)
    sys.stdin.readline()
"""


@pytest.mark.parametrize("command", ["apply", "commit", "sync"])
def test_a_run_while_another_holds_the_lock_fails_at_once(
    tmp_path: Path, expected: dict[str, bytes], command: str
) -> None:
    files = meshy_files(clusters=CLUSTERS, pin="1.1.0")
    files["waypath.yaml"] = (
        "apiVersion: waypath.dev/v1\nkind: Config\n"
        "components:\n  meshy:\n    version: stable-2.0.0\n"
    )
    repo = git_repo(tmp_path / "repo", files)
    before, refs_before = snapshot_bytes(repo), refs(repo)
    lock = repo / ".git" / "waypath.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    args = {
        "apply": apply_args(repo),
        "commit": apply_args(repo, "--commit", "--branch", "x"),
        "sync": ["sync", str(repo), "--recipes", str(RECIPES)],
    }[command]
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        run = waypath(*args)
        out, err = run.communicate(timeout=120)
        assert run.returncode == 1
        found = HELD.search(err)
        assert found and found.group(2) == str(holder.pid), err
        assert Path(found.group(1)) == repo / ".git"
        assert "Traceback" not in out + err
        assert snapshot_bytes(repo) == before
        assert refs(repo) == refs_before
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=30)
    if command == "apply":
        run = waypath(*args)
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
        assert snapshot_bytes(repo) == {**expected, "waypath.yaml": before["waypath.yaml"]}


def test_two_threads_taking_one_lock_do_not_both_win(tmp_path: Path) -> None:
    lock = tmp_path / "waypath.lock"
    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    release = threading.Event()

    def run() -> None:
        barrier.wait()
        try:
            with repo_lock(lock):
                outcomes.append("held")
                release.wait(5)
        except GitError:
            outcomes.append("refused")
            release.set()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(outcomes) == ["held", "refused"]
    assert not lock.exists()


def test_the_lock_is_taken_again_by_the_same_thread(tmp_path: Path) -> None:
    lock = tmp_path / "waypath.lock"
    with repo_lock(lock) as outer, repo_lock(lock) as inner:
        assert (outer, inner) == (True, False)
        assert lock.exists()
    assert not lock.exists()


def test_zz_concurrency_figures(capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():
        for kind, number in sorted(FIGURES.items()):
            print(f"\n[concurrency] {kind}: {number}")


def test_a_run_arriving_before_the_holder_wrote_its_name_still_names_it(tmp_path: Path) -> None:
    # The holder writes "pid/since" just after flock(); a run arriving in between used to
    # say "since an unknown time (pid unknown)" (seen in CI). It now waits for the name.
    import fcntl

    from engine.output import lock as lock_module

    path = tmp_path / "waypath.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held, no name written yet
    late = threading.Timer(0.1, lock_module._write_owner, args=(fd,))
    late.start()
    try:
        with pytest.raises(GitError) as info, repo_lock(path):
            pass
    finally:
        late.join()
        os.close(fd)
    assert HELD.search(info.value.render()) is not None, info.value.render()
    assert f"(pid {os.getpid()})" in info.value.render()
