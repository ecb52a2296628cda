"""Real kills and signals at random moments of `waypath apply` (with and without
`--commit`), in subprocesses, then a plain rerun: the rerun must end exactly where an
uninterrupted run ends (files, commits, branch, clean index), with no flag, and nothing
outside the repository may change. And a full disk on a small tmpfs.

Seeded (WAYPATH_KILL_SEED, default 11) so a failure can be replayed; WAYPATH_KILL_TRIALS
sets the number of trials per kind (default 6: about 20 s).

Pins: journal.recover (run when the lock is taken), swap's kept originals, the
SIGTERM/SIGHUP handler (error_handler.signals_as_interrupts).
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import RECIPES, git, git_repo, hermetic_git, meshy_files, snapshot_bytes

ROOT = Path(__file__).resolve().parent.parent
SEED = int(os.environ.get("WAYPATH_KILL_SEED", "11"))
TRIALS = int(os.environ.get("WAYPATH_KILL_TRIALS", "6"))
CLUSTERS = ("c0", "c1", "c2", "c3")
FIGURES: dict[str, int] = {}


@pytest.fixture(autouse=True)
def _hermetic_git(monkeypatch: pytest.MonkeyPatch) -> None:
    hermetic_git(monkeypatch)


def args(repo: Path, commit: bool) -> list[str]:
    extra = ["--commit", "--branch", "w"] if commit else []
    return ["apply", str(repo), "--to", "meshy@stable-2.0", "--recipes", str(RECIPES), *extra]


def start(argv: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "engine.cli", *argv],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def finish(argv: list[str]) -> tuple[int, str]:
    run = start(argv)
    out, err = run.communicate(timeout=120)
    return run.returncode, (out + err).decode("utf-8", "replace")


def outcome(repo: Path, commit: bool) -> tuple[object, ...]:
    status = git(repo, "status", "--porcelain", "--untracked-files=all")
    if not commit:
        return (snapshot_bytes(repo), git(repo, "rev-parse", "HEAD"))
    return (
        snapshot_bytes(repo),
        git(repo, "log", "--format=%s%n%b", "main..w") if git(repo, "branch", "--list", "w") else "",
        git(repo, "symbolic-ref", "--short", "HEAD"),
        git(repo, "rev-parse", "main"),
        status,
    )


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    with pytest.MonkeyPatch.context() as patch:
        hermetic_git(patch)
        return git_repo(
            tmp_path_factory.mktemp("kills") / "template", meshy_files(CLUSTERS, pin="1.1.0")
        )


def fresh(template: Path, where: Path) -> Path:
    repo = where / "repo"
    shutil.copytree(template, repo, symlinks=True)
    return repo


def outside(where: Path) -> dict[str, bytes]:
    """Every file beside the repo (a canary, and the folder itself)."""
    return {
        str(p.relative_to(where)): p.read_bytes()
        for p in sorted(where.rglob("*"))
        if p.is_file() and "repo" not in p.relative_to(where).parts[:1]
    }


@pytest.mark.parametrize("commit", [True, False], ids=["commit", "write"])
@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM", "SIGHUP"])
def test_a_rerun_after_a_kill_at_a_random_moment_ends_as_an_uninterrupted_run(
    template: Path, tmp_path: Path, commit: bool, how: str
) -> None:
    reference = fresh(template, tmp_path / "reference")
    began = time.monotonic()
    code, text = finish(args(reference, commit))
    length = time.monotonic() - began
    assert code == 0, text
    expected = outcome(reference, commit)
    rng = random.Random(f"{SEED}-{how}-{commit}")
    sig = getattr(signal, how)
    for trial in range(TRIALS):
        where = tmp_path / f"t{trial}"
        where.mkdir()
        (where / "canary.txt").write_bytes(b"outside the repo\n")
        repo = fresh(template, where)
        beside = outside(where)
        run = start(args(repo, commit))
        time.sleep(rng.uniform(0.2, 1.1) * length)  # start-up is ~0.2 of a run
        with contextlib.suppress(ProcessLookupError):
            run.send_signal(sig)
        out, err = run.communicate(timeout=120)
        FIGURES[f"{how} during apply{' --commit' if commit else ''}"] = (
            FIGURES.get(f"{how} during apply{' --commit' if commit else ''}", 0) + 1
        )
        text = (out + err).decode("utf-8", "replace")
        assert "Traceback" not in text, (trial, text)
        if how == "SIGKILL":
            assert run.returncode in (0, -signal.SIGKILL), (trial, run.returncode, text)
        else:  # handled like Ctrl-C: rolled back, exit 130 (or done before it came, or
            # came during Python's start-up, before any handler or change: the default end)
            assert run.returncode in (0, 130, -sig), (trial, run.returncode, text)
            if run.returncode == 130:
                assert not list(repo.rglob(".*.waypath-*")), trial
                assert not (repo / ".git" / "waypath-journal.json").exists(), trial
        code, text = finish(args(repo, commit))  # the plain rerun, no flag
        assert code == 0, (trial, text)
        assert "Traceback" not in text
        assert outcome(repo, commit) == expected, (trial, text)
        assert not list(repo.rglob(".*.waypath-*"))
        assert not list((repo / ".git").glob("waypath-*"))
        assert outside(where) == beside


@contextlib.contextmanager
def small_tmpfs(where: Path, size: str) -> Iterator[Path]:
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(folder: Path, leave: int) -> Path:
    """Fill the filesystem of `folder` until about `leave` bytes are free."""
    filler = folder / "filler"
    with filler.open("wb") as handle:
        chunk = b"\0" * 65536
        while True:
            free = shutil.disk_usage(folder).free
            if free <= leave + len(chunk):
                break
            handle.write(chunk)
            handle.flush()
        with contextlib.suppress(OSError):
            handle.write(b"\0" * max(0, shutil.disk_usage(folder).free - leave))
    return filler


@pytest.mark.parametrize("leave", [0, 4096, 64 * 1024])
def test_a_full_disk_fails_cleanly_and_a_rerun_with_space_finishes(
    template: Path, tmp_path: Path, leave: int
) -> None:
    reference = fresh(template, tmp_path / "reference")
    assert finish(args(reference, True))[0] == 0
    expected = outcome(reference, True)
    with small_tmpfs(tmp_path / "disk", "8m") as disk:
        repo = fresh(template, disk)
        before = outcome(repo, True)
        filler = fill(disk, leave)
        code, text = finish(args(repo, True))
        FIGURES["full-disk runs"] = FIGURES.get("full-disk runs", 0) + 1
        assert "Traceback" not in text
        assert code == 1, text
        assert "another git process" not in text
        assert "space" in text, text  # says the disk is full and what to do
        filler.unlink()
        now = outcome(repo, True)
        if now[1]:  # some whole commits were made before the disk filled up
            assert now[4] == "" and now[2] == "w\n", now[1:]
        else:
            assert now[0] == before[0]
        code, text = finish(args(repo, True))
        assert code == 0, text
        assert outcome(repo, True) == expected


def test_zz_kill_figures(capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():
        for kind, number in sorted(FIGURES.items()):
            print(f"\n[kills] {kind}: {number}")
