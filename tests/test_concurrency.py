"""Two `waypath apply` runs on one checkout at once: one waits or fails cleanly, the tree
stays whole. Real processes (`python -m engine.cli`), not threads.

Pins: apply.hold_lock (the lock in .git/waypath.lock), the dirty-tree check, and the
stale-input check of a plan made before the other run wrote.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.cli import main
from tests.helpers import RECIPES, git_repo, hermetic_git, meshy_files, snapshot_bytes

ROOT = Path(__file__).resolve().parent.parent
CLUSTERS = tuple(f"c{n:02}" for n in range(24))  # a plan big enough for the runs to overlap
CLEAN_FAILURES = (
    "another waypath apply is running",
    "the working tree has uncommitted changes",
    "input file(s) changed since the plan was made",
)


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


def apply_args(repo: Path) -> list[str]:
    return ["apply", str(repo), "--to", "meshy@stable-2.0", "--recipes", str(RECIPES)]


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
            assert any(reason in err for reason in CLEAN_FAILURES), err
        elif "nothing to do" not in out:
            assert "applied" in out
    assert snapshot_bytes(repo) == expected
    assert not (repo / ".git" / "waypath.lock").exists()


HOLDER = """
import sys, time
from pathlib import Path
from engine.output.apply import hold_lock
with hold_lock(Path(sys.argv[1])):
    print("locked", flush=True)
    sys.stdin.readline()
"""


def test_apply_while_another_holds_the_lock_fails_cleanly_then_succeeds(
    tmp_path: Path, expected: dict[str, bytes]
) -> None:
    repo = git_repo(tmp_path / "repo", meshy_files(clusters=CLUSTERS, pin="1.1.0"))
    before = snapshot_bytes(repo)
    lock = repo / ".git" / "waypath.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        run = waypath(*apply_args(repo))
        out, err = run.communicate(timeout=120)
        assert run.returncode == 1
        assert err.startswith(f"error: another waypath apply is running (pid {holder.pid})")
        assert "Traceback" not in out + err
        assert snapshot_bytes(repo) == before
        assert lock.read_text() == f"{holder.pid}\n"
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=30)
    deadline = time.monotonic() + 10
    while lock.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    run = waypath(*apply_args(repo))
    out, err = run.communicate(timeout=120)
    assert run.returncode == 0, err
    assert snapshot_bytes(repo) == expected


def test_two_runs_taking_over_one_stale_lock_do_not_both_win(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pins apply._folder_guard: without it both threads see the dead pid, both unlink,
    # and the slower one deletes the faster one's fresh lock and makes its own.
    import threading

    from engine.errors import GitError
    from engine.output import apply as apply_module
    from engine.output.apply import hold_lock

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    lock = tmp_path / "waypath.lock"
    lock.write_text(dead.stdout)
    barrier = threading.Barrier(2)
    real_alive = apply_module._pid_alive

    calls: list[int] = []

    def slow_alive(pid: int) -> bool:
        result = real_alive(pid)
        calls.append(pid)
        # The second run decides "stale" before the first has retaken the lock, and acts
        # after: the window in which it would remove the first run's fresh lock.
        time.sleep(0.2 * len(calls))
        return result

    monkeypatch.setattr(apply_module, "_pid_alive", slow_alive)
    outcomes: list[str] = []
    release = threading.Event()

    def run() -> None:
        barrier.wait()
        try:
            with hold_lock(lock):
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
