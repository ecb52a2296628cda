from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.errors import GitError, PlanError, RepoError
from engine.output.apply import (
    Fs,
    apply_plan,
    check_inputs,
    commit_plan,
    exclusive,
    final_changes,
    write_changes,
)
from engine.output.gitcli import Git
from engine.planning.planmodel import Commit, FileChange, Note, Plan, sha256_bytes
from tests.helpers import hermetic_git


@pytest.fixture(autouse=True)
def _hermetic_git(monkeypatch: pytest.MonkeyPatch) -> None:
    hermetic_git(monkeypatch)


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout


ORIGINAL = {
    "a.yaml": b"a: 1\n",
    "bin/run.sh": b"#!/bin/sh\necho old\n",
    "c.yaml": b"c: 1\n",
    "keep.yaml": b"keep: 1\n",
}


def build(root: Path, files: dict[str, bytes] = ORIGINAL, *, repo: bool = True) -> None:
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    if "bin/run.sh" in files:
        (root / "bin/run.sh").chmod(0o755)
    if repo:
        git(root, "init", "-q", "-b", "main")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "initial")


def tree(root: Path) -> dict[str, tuple[bytes, int] | None]:
    """Every file (bytes, mode) and folder (None) under root, .git excluded."""
    found: dict[str, tuple[bytes, int] | None] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if rel == ".git" or rel.startswith(".git/"):
            continue
        if path.is_dir():
            found[rel + "/"] = None
        else:
            found[rel] = (path.read_bytes(), stat.S_IMODE(path.stat().st_mode))
    return found


def change(path: str, status: str, content: bytes | None) -> FileChange:
    old = ORIGINAL.get(path)
    return FileChange(path, status, content, None if old is None else sha256_bytes(old))  # type: ignore[arg-type]


# M a.yaml, M bin/run.sh (mode 755), D c.yaml, A new/dir/b.yaml (two new folders)
CHANGES = [
    change("a.yaml", "modified", b"a: 2\n"),
    change("bin/run.sh", "modified", b"#!/bin/sh\necho new\n"),
    change("c.yaml", "deleted", None),
    change("new/dir/b.yaml", "added", b"b: 1\n"),
]
# Up to the journal's rename to .done (the write is whole from there on)...
FS_CALLS = [
    "write waypath-journal.json.tmp",
    "replace waypath-journal.json.tmp",
    "mkdir new",
    "mkdir dir",
    "write a.yaml",
    "write run.sh",
    "write b.yaml",
    "replace a.yaml",
    "replace run.sh",
    "replace c.yaml",
    "replace a.yaml",
    "replace run.sh",
    "replace b.yaml",
    "replace waypath-journal.json",
]
# ... then the clean-up: the kept originals, then the journal.
CLEANUP_CALLS = [
    "remove a.yaml",
    "remove run.sh",
    "remove c.yaml",
    "remove waypath-journal.done",
]
# What the error names when that call fails.
FILE_OF_CALL = {
    "a.yaml": "a.yaml",
    "run.sh": "bin/run.sh",
    "c.yaml": "c.yaml",
    "new": "new",
    "dir": "new/dir",
    "b.yaml": "new/dir/b.yaml",
    "waypath-journal.json.tmp": "the journal",
    "waypath-journal.json": "the journal",
}


def expected_after(root: Path) -> dict[str, tuple[bytes, int] | None]:
    before = tree(root)
    del before["c.yaml"]
    before["a.yaml"] = (b"a: 2\n", before["a.yaml"][1])  # type: ignore[index]
    before["bin/run.sh"] = (b"#!/bin/sh\necho new\n", 0o755)
    before["new/"] = None
    before["new/dir/"] = None
    before["new/dir/b.yaml"] = (b"b: 1\n", 0o666 & ~_umask())
    return dict(sorted(before.items()))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class FailingFs(Fs):
    """Records every call; the call number `fail_at` raises `exc` (a write first writes
    half its bytes, as a full disk would)."""

    def __init__(self, fail_at: int | None = None, exc: BaseException | None = None) -> None:
        self.calls: list[str] = []
        self.fail_at = fail_at
        self.exc = exc or OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def _tick(self, name: str, path: Path) -> None:
        self.calls.append(f"{name} {path.name.split('.waypath-')[0].lstrip('.')}")
        if len(self.calls) - 1 == self.fail_at:
            raise self.exc

    def mkdir(self, path: Path) -> None:
        self._tick("mkdir", path)
        super().mkdir(path)

    def rmdir(self, path: Path) -> None:
        self._tick("rmdir", path)
        super().rmdir(path)

    def write(self, path: Path, data: bytes, mode: int | None) -> None:
        if len(self.calls) == self.fail_at:
            path.write_bytes(data[: len(data) // 2])
        self._tick("write", path)
        super().write(path, data, mode)

    def replace(self, src: Path, dst: Path) -> None:
        self._tick("replace", src if ".waypath-" not in src.name else dst)
        super().replace(src, dst)

    def remove(self, path: Path) -> None:
        self._tick("remove", path)
        super().remove(path)


def test_write_changes_calls_in_order(tmp_path: Path) -> None:
    build(tmp_path)
    expected = expected_after(tmp_path)
    fs = FailingFs()
    write_changes(tmp_path, CHANGES, fs=fs)
    assert fs.calls == FS_CALLS + CLEANUP_CALLS
    assert tree(tmp_path) == expected
    assert not list((tmp_path / ".git").glob("waypath-*"))


@pytest.mark.parametrize("fail_at", range(len(CLEANUP_CALLS)))
def test_a_failed_clean_up_loses_nothing(tmp_path: Path, fail_at: int) -> None:
    """The write is whole once the journal says done: failing to remove what it kept is
    not an error, and the next run removes the leftovers."""
    build(tmp_path)
    expected = expected_after(tmp_path)
    write_changes(tmp_path, CHANGES, fs=FailingFs(len(FS_CALLS) + fail_at))
    kept = [f".{name}.waypath-{os.getpid()}.old" for name in ("a.yaml", "run.sh", "c.yaml")]
    assert sorted(p.name for p in tmp_path.rglob(".*.waypath-*")) == kept[fail_at : fail_at + 1]
    assert (tmp_path / ".git" / "waypath-journal.done").exists()
    with exclusive(tmp_path):
        pass
    assert tree(tmp_path) == expected
    assert not list((tmp_path / ".git").glob("waypath-*"))


@pytest.mark.parametrize("exc_type", [OSError, KeyboardInterrupt])
@pytest.mark.parametrize("fail_at", range(len(FS_CALLS)))
def test_write_changes_is_all_or_nothing(
    tmp_path: Path, fail_at: int, exc_type: type[BaseException]
) -> None:
    build(tmp_path)
    original = tree(tmp_path)
    expected = expected_after(tmp_path)
    exc = OSError(errno.ENOSPC, "No space left on device") if exc_type is OSError else exc_type()
    fs = FailingFs(fail_at, exc)
    if exc_type is OSError:
        with pytest.raises(RepoError) as info:
            write_changes(tmp_path, CHANGES, fs=fs)
        failed = FILE_OF_CALL[FS_CALLS[fail_at].split()[1]]
        assert info.value.message == f"could not write {failed}: No space left on device"
        assert info.value.hint == (
            "free some disk space, then run waypath again; nothing in the repository was changed"
        )
    else:
        with pytest.raises(KeyboardInterrupt):
            write_changes(tmp_path, CHANGES, fs=fs)
    assert fs.calls[: fail_at + 1] == FS_CALLS[: fail_at + 1]
    assert tree(tmp_path) == original
    write_changes(tmp_path, CHANGES)
    assert tree(tmp_path) == expected


def test_failed_rollback_is_reported(tmp_path: Path) -> None:
    build(tmp_path)
    original = tree(tmp_path)

    class TwiceFailing(FailingFs):
        def replace(self, src: Path, dst: Path) -> None:
            if src.name.endswith(".old") and dst.name == "a.yaml":  # putting a.yaml back
                raise OSError(errno.EACCES, "Permission denied")
            super().replace(src, dst)

    # Fails at the last swap (b.yaml), and then cannot put the original a.yaml back.
    with pytest.raises(RepoError) as info:
        write_changes(tmp_path, CHANGES, fs=TwiceFailing(fail_at=FS_CALLS.index("replace b.yaml")))
    assert info.value.message == "could not write new/dir/b.yaml: No space left on device"
    assert info.value.hint == (
        "the put-back was incomplete (files listed above); run waypath again to finish it"
    )
    assert [p.message for p in info.value.problems] == [
        "could not undo aside of a.yaml: [Errno 13] Permission denied"
    ]
    # The journal stayed: the next run puts a.yaml back.
    assert (tmp_path / ".git" / "waypath-journal.json").exists()
    with exclusive(tmp_path):
        pass
    assert tree(tmp_path) == original


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/etc/passwd", "not a plain path inside the repository"),
        ("../outside.yaml", "not a plain path inside the repository"),
        ("a/../../outside.yaml", "not a plain path inside the repository"),
        ("", "not a plain path inside the repository"),
        (".git/config", "it is inside .git"),
        ("link/x.yaml", "it resolves outside the repository (through a symlink)"),
        ("alias.yaml", "it is a symlink"),
    ],
)
def test_unsafe_paths_are_refused(tmp_path: Path, path: str, reason: str) -> None:
    root = tmp_path / "repo"
    outside = tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    build(root)
    (root / "link").symlink_to(outside)
    (root / "alias.yaml").symlink_to("a.yaml")
    before = tree(root)
    changes = [change("a.yaml", "modified", b"a: 2\n"), change(path, "added", b"x\n")]
    with pytest.raises(RepoError) as info:
        write_changes(root, changes)
    assert info.value.message.endswith(reason)
    assert tree(root) == before
    assert list(outside.iterdir()) == []


def test_status_must_match_the_tree(tmp_path: Path) -> None:
    build(tmp_path)
    with pytest.raises(RepoError) as info:
        write_changes(tmp_path, [change("a.yaml", "added", b"x\n")])
    assert info.value.message == "cannot add a.yaml: it already exists"
    with pytest.raises(RepoError) as info:
        write_changes(tmp_path, [change("gone.yaml", "deleted", None)])
    assert info.value.message == "cannot change gone.yaml: it is not a file in the repository"


def test_unchanged_bytes_are_not_rewritten(tmp_path: Path) -> None:
    build(tmp_path)
    fs = FailingFs()
    write_changes(tmp_path, [change("a.yaml", "modified", b"a: 1\n")], fs=fs)
    assert fs.calls == []


# -- final_changes --------------------------------------------------------------------------


def plan_of(*commits: list[FileChange], inputs: dict[str, str] | None = None) -> Plan:
    return Plan(
        target="linkerd@2.12",
        instances=[],
        commits=[
            Commit(
                subject=f"step {n}",
                body=f"Body of step {n}.\n\nWaypath-Phase: {n}" if n % 2 else "",
                recipe="2.11-to-2.12",
                phase=f"p{n}",
                phase_number=n,
                phase_count=len(commits),
                from_version="stable-2.11.5",
                to_version="stable-2.12.6",
                instances=["clusters/prod"],
                changes=changes,
            )
            for n, changes in enumerate(commits, 1)
        ],
        inputs=inputs if inputs is not None else {p: sha256_bytes(d) for p, d in ORIGINAL.items()},
    )


def test_final_changes_combines_commits() -> None:
    plan = plan_of(
        [
            change("z-added-then-modified.yaml", "added", b"1\n"),
            change("a.yaml", "modified", b"a: 2\n"),
            change("c.yaml", "modified", b"c: 2\n"),
            change("tmp.yaml", "added", b"t\n"),
            change("keep.yaml", "modified", b"keep: 2\n"),
            change("bin/run.sh", "deleted", None),
        ],
        [
            change("z-added-then-modified.yaml", "modified", b"2\n"),
            change("c.yaml", "deleted", None),
            change("tmp.yaml", "deleted", None),
            change("keep.yaml", "modified", b"keep: 1\n"),  # back to its original bytes
            change("bin/run.sh", "added", b"#!/bin/sh\n"),
        ],
    )
    assert final_changes(plan) == [
        change("a.yaml", "modified", b"a: 2\n"),
        change("bin/run.sh", "modified", b"#!/bin/sh\n"),
        change("c.yaml", "deleted", None),
        FileChange("z-added-then-modified.yaml", "added", b"2\n"),
    ]


def test_final_changes_refuses_an_impossible_sequence() -> None:
    plan = plan_of([change("a.yaml", "modified", b"2\n")], [change("a.yaml", "added", b"3\n")])
    with pytest.raises(PlanError) as info:
        final_changes(plan)
    assert info.value.message == (
        "commit 2 marks a.yaml added, but it exists after the commits before it"
    )
    plan = plan_of([change("n.yaml", "added", b"2\n")], [change("n.yaml", "added", b"3\n")])
    with pytest.raises(PlanError) as info:
        final_changes(plan)
    assert info.value.message == (
        "commit 2 marks n.yaml added, but it exists after the commits before it"
    )
    plan = plan_of([change("n.yaml", "added", b"2\n")], [change("x.yaml", "deleted", None)])
    plan.commits[1].changes.append(change("n.yaml", "added", b"3\n"))
    with pytest.raises(PlanError):
        final_changes(plan)


# -- apply_plan -----------------------------------------------------------------------------


def test_apply_plan_writes_the_final_state(tmp_path: Path) -> None:
    build(tmp_path)
    expected = expected_after(tmp_path)
    plan = plan_of(CHANGES[:2], CHANGES[2:])
    assert apply_plan(tmp_path, plan) == CHANGES
    assert tree(tmp_path) == expected
    assert not (tmp_path / ".git" / "waypath.lock").exists()


def test_apply_plan_refuses_stale_inputs(tmp_path: Path) -> None:
    build(tmp_path)
    plan = plan_of(CHANGES)
    (tmp_path / "c.yaml").unlink()
    (tmp_path / "keep.yaml").write_bytes(b"keep: edited\n")
    git(tmp_path, "commit", "-qam", "edit")
    before = tree(tmp_path)
    with pytest.raises(PlanError) as info:
        apply_plan(tmp_path, plan)
    assert info.value.render() == (
        "error: 2 input file(s) changed since the plan was made\n"
        "  - c.yaml: missing\n"
        "  - keep.yaml: changed\n"
        "hint: make the plan again"
    )
    assert tree(tmp_path) == before


def test_check_inputs_accepts_matching_files(tmp_path: Path) -> None:
    build(tmp_path, repo=False)
    check_inputs(tmp_path, plan_of(CHANGES))


def test_apply_plan_refuses_a_dirty_tree(tmp_path: Path) -> None:
    build(tmp_path)
    (tmp_path / "notes.txt").write_text("mine\n")
    plan = plan_of(CHANGES)
    with pytest.raises(GitError) as info:
        apply_plan(tmp_path, plan)
    assert info.value.render() == (
        "error: the working tree has uncommitted changes\n"
        "  - notes.txt\n"
        "hint: commit or stash them first, or pass --allow-dirty"
    )
    assert (tmp_path / "a.yaml").read_bytes() == b"a: 1\n"
    apply_plan(tmp_path, plan, allow_dirty=True)
    assert (tmp_path / "a.yaml").read_bytes() == b"a: 2\n"
    assert (tmp_path / "notes.txt").read_text() == "mine\n"


def test_apply_plan_outside_git(tmp_path: Path) -> None:
    build(tmp_path, repo=False)
    expected = expected_after(tmp_path)
    apply_plan(tmp_path, plan_of(CHANGES))
    assert tree(tmp_path) == expected  # and the .waypath.lock is gone


HOLDER = """
import sys
from pathlib import Path
from engine.output.lock import repo_lock
with repo_lock(Path(sys.argv[1])):
    print("locked", flush=True)
    sys.stdin.readline()
"""


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the repo's lock until the test ends."""
    build(tmp_path)
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path / ".git" / "waypath.lock")],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "locked\n"
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_apply_plan_refuses_while_locked(tmp_path: Path, holder: subprocess.Popen[str]) -> None:
    lock = tmp_path / ".git" / "waypath.lock"
    owner = lock.read_text()
    assert owner.startswith(f"pid {holder.pid}\nsince 20")
    since = owner.splitlines()[1].removeprefix("since ")
    with pytest.raises(GitError) as info:
        apply_plan(tmp_path, plan_of(CHANGES))
    assert info.value.message == (
        f"another waypath run holds {lock} since {since} (pid {holder.pid})"
    )
    assert lock.read_text() == owner
    assert (tmp_path / "a.yaml").read_bytes() == b"a: 1\n"


def test_a_lock_left_by_a_killed_run_is_no_obstacle(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    holder.kill()  # SIGKILL: the file stays, the OS lock goes with the process
    holder.wait()
    lock = tmp_path / ".git" / "waypath.lock"
    assert lock.read_text().startswith(f"pid {holder.pid}\n")
    apply_plan(tmp_path, plan_of(CHANGES))
    assert (tmp_path / "a.yaml").read_bytes() == b"a: 2\n"
    assert not lock.exists()


def test_a_lock_path_that_is_a_folder_is_a_clear_error(tmp_path: Path) -> None:
    build(tmp_path)
    (tmp_path / ".git" / "waypath.lock").mkdir()
    with pytest.raises(RepoError) as info:
        apply_plan(tmp_path, plan_of(CHANGES))
    assert info.value.render() == (
        f"error: the lock path {tmp_path / '.git' / 'waypath.lock'} is a folder\n"
        "hint: remove that folder (Waypath keeps a small file there while it runs)"
    )
    assert (tmp_path / "a.yaml").read_bytes() == b"a: 1\n"


# -- commit_plan ----------------------------------------------------------------------------


def three_commit_plan() -> Plan:
    plan = plan_of(
        [change("a.yaml", "modified", b"a: 2\n"), change("new/b.yaml", "added", b"b: 1\n")],
        [],
        [change("c.yaml", "deleted", None), change("a.yaml", "modified", b"a: 3\n")],
    )
    plan.commits[1].notes = [Note("Annotate the CRDs", commands=["kubectl annotate crd x"])]
    return plan


def test_commit_plan_makes_one_commit_per_phase(tmp_path: Path) -> None:
    shas = []
    for name in ("one", "two"):
        root = tmp_path / name
        root.mkdir()
        build(root)
        shas.append(commit_plan(root, three_commit_plan(), branch="waypath/up"))
    assert shas[0] == shas[1]  # same repo + plan + dates -> same commits
    root = tmp_path / "one"
    repo = Git(root)
    assert repo.current_branch() == "waypath/up"
    assert repo.log("main..HEAD") == [
        (shas[0][0], "step 1\n\nBody of step 1.\n\nWaypath-Phase: 1"),
        (shas[0][1], "step 3\n\nBody of step 3.\n\nWaypath-Phase: 3"),
    ]
    assert git(root, "show", "--name-status", "--format=", shas[0][0]) == (
        "M\ta.yaml\nA\tnew/b.yaml\n"
    )
    assert git(root, "show", "--name-status", "--format=", shas[0][1]) == "M\ta.yaml\nD\tc.yaml\n"
    assert git(root, "show", f"{shas[0][0]}:a.yaml") == "a: 2\n"
    assert git(root, "show", "HEAD:a.yaml") == "a: 3\n"
    assert git(root, "log", "-1", "--format=%aI %cI") == (
        "2024-01-02T03:04:05+00:00 2024-01-02T03:04:05+00:00\n"
    )
    assert repo.is_dirty() == []


def test_commit_plan_refuses_an_existing_branch(tmp_path: Path) -> None:
    build(tmp_path)
    with pytest.raises(GitError, match="branch main already exists"):
        commit_plan(tmp_path, three_commit_plan(), branch="main")
    assert Git(tmp_path).log() == [(Git(tmp_path).head(), "initial")]


def test_commit_plan_needs_git(tmp_path: Path) -> None:
    build(tmp_path, repo=False)
    with pytest.raises(GitError, match="is not a git repository"):
        commit_plan(tmp_path, three_commit_plan(), branch=None)


def test_failed_commit_puts_its_files_back(tmp_path: Path) -> None:
    build(tmp_path)
    hook = tmp_path / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\ntest -e new/c.yaml && echo 'no c here' >&2 && exit 1\nexit 0\n")
    hook.chmod(0o755)
    plan = plan_of(
        [change("a.yaml", "modified", b"a: 2\n")],
        [
            change("keep.yaml", "deleted", None),
            change("new/c.yaml", "added", b"c\n"),
            change("bin/run.sh", "modified", b"#!/bin/sh\necho new\n"),
        ],
    )
    after_first = tree(tmp_path)
    after_first["a.yaml"] = (b"a: 2\n", after_first["a.yaml"][1])  # type: ignore[index]
    with pytest.raises(GitError) as info:
        commit_plan(tmp_path, plan, branch=None)
    assert info.value.message.startswith("commit 2 of 2 (step 2) failed: `git commit")
    assert info.value.message.endswith("no c here")
    assert info.value.hint == (
        "1 earlier commit(s) were made on the current branch; "
        "the files of this commit are as they were before it"
    )
    assert [m for _, m in Git(tmp_path).log()] == [
        "initial",
        "step 1\n\nBody of step 1.\n\nWaypath-Phase: 1",
    ]
    assert tree(tmp_path) == after_first
    assert Git(tmp_path).is_dirty() == []


def test_commit_plan_on_a_dirty_tree_commits_only_its_own_files(tmp_path: Path) -> None:
    build(tmp_path)
    (tmp_path / "keep.yaml").write_bytes(b"keep: staged by the user\n")
    git(tmp_path, "add", "keep.yaml")
    (tmp_path / "scratch.txt").write_text("untracked\n")
    plan = three_commit_plan()
    del plan.inputs["keep.yaml"]  # the plan does not read the file the user is editing
    with pytest.raises(GitError, match="uncommitted changes"):
        commit_plan(tmp_path, plan, branch=None)
    shas = commit_plan(tmp_path, plan, branch=None, allow_dirty=True)
    assert len(shas) == 2
    assert git(tmp_path, "diff", "--name-only", "main~2", "main") == "a.yaml\nc.yaml\nnew/b.yaml\n"
    assert git(tmp_path, "status", "--porcelain") == "M  keep.yaml\n?? scratch.txt\n"
