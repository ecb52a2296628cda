"""Apply a plan: write its files to the working tree all-or-nothing, optionally as commits.

Invariant 4 (atomicity) lives here. `write_changes` stages every new file next to its
destination, then swaps them all in, and undoes every step it made if anything fails —
an OSError, a KeyboardInterrupt, anything. Every filesystem call goes through `Fs`, so a
test can make each one fail in turn.
"""

from __future__ import annotations

import fcntl
import os
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from engine.errors import GitError, PlanError, Problem, RepoError, WaypathError
from engine.output.gitcli import Git
from engine.planning.planmodel import Commit, FileChange, Plan, sha256_bytes

LOCK_NAME = "waypath.lock"


class Fs:
    """The filesystem calls `write_changes` makes. Tests subclass it to inject failures."""

    def mkdir(self, path: Path) -> None:
        os.mkdir(path)

    def rmdir(self, path: Path) -> None:
        os.rmdir(path)

    def write(self, path: Path, data: bytes, mode: int | None) -> None:
        """Create `path` (it must not exist), write `data`, set `mode`, fsync."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if mode is not None:
                os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)

    def replace(self, src: Path, dst: Path) -> None:
        os.replace(src, dst)

    def remove(self, path: Path) -> None:
        os.unlink(path)


DEFAULT_FS = Fs()


# -- checking a plan against the repo ------------------------------------------------------


def check_inputs(root: Path, plan: Plan) -> None:
    """Refuse a plan whose input files no longer hold the bytes it was made from."""
    problems: list[Problem] = []
    for path, expected in sorted(plan.inputs.items()):
        try:
            data = (root / path).read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            problems.append(Problem(f"{path}: missing"))
            continue
        except OSError as exc:
            raise RepoError(f"cannot read {path}: {exc.strerror or exc}") from exc
        if sha256_bytes(data) != expected:
            problems.append(Problem(f"{path}: changed"))
    if problems:
        raise PlanError(
            f"{len(problems)} input file(s) changed since the plan was made",
            problems=problems,
            hint="make the plan again",
        )


def final_changes(plan: Plan) -> list[FileChange]:
    """The combined effect of all commits, in order, sorted by path.

    Added then modified is added (last content); modified then deleted is deleted; added
    then deleted disappears; a file that ends with its original bytes disappears too.
    """
    first: dict[str, FileChange] = {}
    last: dict[str, FileChange] = {}
    exists: dict[str, bool] = {}
    for number, commit in enumerate(plan.commits, 1):
        for change in commit.changes:
            existed = exists.get(change.path, change.status != "added")
            if (change.status == "added") == existed:
                state = "exists" if existed else "does not exist"
                raise PlanError(
                    f"commit {number} marks {change.path} {change.status}, but it {state} "
                    "after the commits before it",
                    hint="make the plan again; if it persists, report a bug",
                )
            first.setdefault(change.path, change)
            last[change.path] = change
            exists[change.path] = change.status != "deleted"
    result: list[FileChange] = []
    for path in sorted(last):
        existed = first[path].status != "added"
        old_sha = first[path].old_sha256
        content = last[path].content
        if not exists[path]:
            if existed:
                result.append(FileChange(path, "deleted", None, old_sha))
        elif not existed:
            result.append(FileChange(path, "added", content))
        elif content is None or old_sha is None or sha256_bytes(content) != old_sha:
            result.append(FileChange(path, "modified", content, old_sha))
    return result


# -- writing the changes, all or nothing ---------------------------------------------------


def safe_path(root: Path, path: str) -> Path:
    """The destination of repo-relative `path`; RepoError if it could leave `root`."""
    pure = PurePosixPath(path)
    if not path or pure.is_absolute() or ".." in pure.parts or pure.parts in ((), (".",)):
        raise RepoError(f"refusing to write {path!r}: not a plain path inside the repository")
    if ".git" in pure.parts:
        raise RepoError(f"refusing to write {path!r}: it is inside .git")
    dest = root.joinpath(*pure.parts)
    if not dest.resolve().is_relative_to(root.resolve()):
        raise RepoError(
            f"refusing to write {path}: it resolves outside the repository (through a symlink)"
        )
    if dest.is_symlink():
        raise RepoError(
            f"refusing to write {path}: it is a symlink",
            hint="waypath edits regular files only; change the file the link points to",
        )
    return dest


@dataclass
class _Item:
    change: FileChange
    dest: Path
    temp: Path | None  # the new content, staged (added and modified)
    backup: Path | None  # where the original waits during the swap (modified and deleted)
    original: bytes | None
    mode: int | None


def _prepare(root: Path, changes: Sequence[FileChange]) -> list[_Item]:
    items: list[_Item] = []
    seen: set[str] = set()
    for change in changes:
        if change.path in seen:
            raise PlanError(f"{change.path} is changed twice in one write")
        seen.add(change.path)
        dest = safe_path(root, change.path)
        if (change.content is None) != (change.status == "deleted"):
            raise PlanError(f"{change.path}: a {change.status} file without the right content")
        exists = os.path.lexists(dest)
        if change.status == "added" and exists:
            raise RepoError(f"cannot add {change.path}: it already exists")
        if change.status != "added" and not dest.is_file():
            raise RepoError(f"cannot change {change.path}: it is not a file in the repository")
        original = mode = None
        if change.status != "added":
            original = dest.read_bytes()
            mode = stat.S_IMODE(dest.stat().st_mode)
            if original == change.content:
                continue  # never rewrite a file whose bytes do not change
        tag = f".{dest.name}.waypath-{os.getpid()}"
        items.append(
            _Item(
                change=change,
                dest=dest,
                temp=None if change.status == "deleted" else dest.with_name(f"{tag}.new"),
                backup=None if change.status == "added" else dest.with_name(f"{tag}.old"),
                original=original,
                mode=mode,
            )
        )
    return items


# One entry per step done; undone in reverse order. The kinds:
#   mkdir(folder)      we created folder                -> rmdir it
#   temp(item)         we (started to) write item.temp  -> remove it, unless placed
#   aside(item)        original moved to item.backup    -> move it back (over new content)
#   placed(item)       item.temp renamed to item.dest   -> remove dest if it was added
#   dropped(item)      backup deleted                   -> write the backup again
_Step = tuple[str, "_Item | Path"]


def write_changes(root: Path, changes: Sequence[FileChange], *, fs: Fs = DEFAULT_FS) -> None:
    """Write `changes` under `root`: all of them, or (on any failure) none.

    Raises RepoError naming the file that failed; a KeyboardInterrupt is re-raised as is
    after the rollback.
    """
    items = _prepare(root, changes)
    journal: list[_Step] = []
    current = ""
    try:
        for item in items:
            current = item.change.path
            if item.temp is not None:
                _make_folders(fs, root, item.dest.parent, journal)
                journal.append(("temp", item))
                assert item.change.content is not None
                fs.write(item.temp, item.change.content, item.mode)
        for item in items:
            current = item.change.path
            if item.backup is not None:
                fs.replace(item.dest, item.backup)
                journal.append(("aside", item))
        for item in items:
            current = item.change.path
            if item.temp is not None:
                fs.replace(item.temp, item.dest)
                journal.append(("placed", item))
        for item in items:
            current = item.change.path
            if item.backup is not None:
                fs.remove(item.backup)
                journal.append(("dropped", item))
    except BaseException as exc:
        leftovers = _rollback(fs, journal)
        if not isinstance(exc, Exception):
            raise
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        hint = "nothing in the repository was changed"
        if leftovers:
            hint = "the rollback was incomplete: check the files listed above"
        raise RepoError(
            f"could not write {current}: {reason}", hint=hint, problems=leftovers
        ) from exc
    _sync_folders({item.dest.parent for item in items})


def _make_folders(fs: Fs, root: Path, folder: Path, journal: list[_Step]) -> None:
    missing: list[Path] = []
    while folder != root and not os.path.lexists(folder):
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        fs.mkdir(path)
        journal.append(("mkdir", path))


def _rollback(fs: Fs, journal: list[_Step]) -> list[Problem]:
    problems: list[Problem] = []
    for kind, target in reversed(journal):
        try:
            if isinstance(target, Path):  # mkdir
                fs.rmdir(target)
            elif kind == "temp":
                if target.temp is not None and os.path.lexists(target.temp):
                    fs.remove(target.temp)
            elif kind == "aside":
                assert target.backup is not None
                fs.replace(target.backup, target.dest)
            elif kind == "placed":
                if target.backup is None:
                    fs.remove(target.dest)
            elif kind == "dropped":
                assert target.backup is not None and target.original is not None
                fs.write(target.backup, target.original, target.mode)
        except Exception as exc:  # keep going: undo as much as we can, then say what is left
            where = target if isinstance(target, Path) else target.change.path
            problems.append(Problem(f"could not undo {kind} of {where}: {exc}"))
    return problems


def _sync_folders(folders: set[Path]) -> None:
    """Make the renames durable (best effort: not every filesystem can fsync a folder)."""
    for folder in sorted(folders):
        with suppress(OSError):
            fd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


# -- the lock --------------------------------------------------------------------------------


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by someone else
    return True


@contextmanager
def hold_lock(path: Path) -> Iterator[None]:
    """Hold the lock file `path` (it holds our pid); a lock of a dead process is taken over."""
    with _folder_guard(path.parent):
        _take_lock(path)
    try:
        yield
    finally:
        with suppress(OSError):
            if path.read_text().strip() == str(os.getpid()):
                path.unlink()


@contextmanager
def _folder_guard(folder: Path) -> Iterator[None]:
    """Serialise taking the lock: without it, two runs that find the same stale lock could
    both remove it and both create their own. An OS lock on the folder, held for a moment."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        yield  # no folder lock to be had; the O_EXCL create still protects the common case
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        with suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _take_lock(path: Path) -> None:
    for _attempt in range(3):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            try:
                pid = int(path.read_text().strip() or "0")
            except (OSError, ValueError):
                pid = 0
            if _pid_alive(pid):
                raise GitError(
                    f"another waypath apply is running (pid {pid})",
                    hint=f"wait for it to finish; if no waypath is running, delete {path}",
                ) from None
            with suppress(FileNotFoundError):
                path.unlink()  # stale: its process is gone
            continue
        with os.fdopen(fd, "w") as handle:
            handle.write(f"{os.getpid()}\n")
        return
    raise GitError(f"could not take the lock {path}", hint="retry")


def lock_path(root: Path, git: Git) -> Path:
    return git.git_dir() / LOCK_NAME if git.is_repo() else root / f".{LOCK_NAME}"


# -- apply and commit ------------------------------------------------------------------------


def refuse_dirty(git: Git, tolerate: Sequence[str] = ()) -> None:
    """GitError listing the uncommitted changes, if any (`tolerate` paths excepted)."""
    dirty = [p for p in git.is_dirty() if p not in tolerate]
    if dirty:
        shown = [Problem(p) for p in dirty[:20]]
        if len(dirty) > 20:
            shown.append(Problem(f"... and {len(dirty) - 20} more"))
        raise GitError(
            "the working tree has uncommitted changes",
            problems=shown,
            hint="commit or stash them first, or pass --allow-dirty",
        )


def apply_plan(root: Path, plan: Plan, *, allow_dirty: bool = False) -> list[FileChange]:
    """Write the final state of every file the plan changes; return those changes."""
    git = Git(root)
    in_git = git.is_repo()
    with hold_lock(lock_path(root, git)):
        if in_git and not allow_dirty:
            refuse_dirty(git)
        check_inputs(root, plan)
        changes = final_changes(plan)
        write_changes(root, changes)
        return changes


def commit_plan(
    root: Path,
    plan: Plan,
    *,
    branch: str | None,
    allow_dirty: bool = False,
    author: str | None = None,
) -> list[str]:
    """Make one git commit per plan commit that has changes; return their shas in order.

    If a commit fails, the files of that commit are put back as they were after the
    previous commit, and the commits already made stay.
    """
    git = Git(root)
    if not git.is_repo():
        raise GitError(
            f"{root} is not a git repository",
            hint="apply without committing, or run `git init` first",
        )
    with hold_lock(lock_path(root, git)):
        if not allow_dirty:
            refuse_dirty(git)
        check_inputs(root, plan)
        final_changes(plan)  # refuses an inconsistent sequence before the first commit
        for commit in plan.commits:
            for change in commit.changes:
                safe_path(root, change.path)
        if branch is not None:
            if git.branch_exists(branch):
                raise GitError(
                    f"branch {branch} already exists",
                    hint="choose another branch name, or delete that branch",
                )
            git.create_branch(branch)
            git.checkout(branch)
        shas: list[str] = []
        total = len(plan.commits)
        for number, commit in enumerate(plan.commits, 1):
            if not commit.changes:
                continue
            try:
                shas.append(_commit_one(git, root, commit, author))
            except WaypathError as exc:
                where = f"on branch {branch}" if branch else "on the current branch"
                raise type(exc)(
                    f"commit {number} of {total} ({commit.subject}) failed: {exc.message}",
                    problems=exc.problems,
                    hint=f"{len(shas)} earlier commit(s) were made {where}; the files of "
                    "this commit are as they were before it",
                ) from exc
        return shas


@dataclass
class _Saved:
    content: bytes | None
    mode: int | None


def _commit_one(git: Git, root: Path, commit: Commit, author: str | None) -> str:
    paths = [c.path for c in commit.changes]
    saved: dict[str, _Saved] = {}
    for path in paths:
        dest = root / path
        if dest.is_file():
            saved[path] = _Saved(dest.read_bytes(), stat.S_IMODE(dest.stat().st_mode))
        else:
            saved[path] = _Saved(None, None)
    new_folders = _missing_folders(root, paths)
    head = git.head()
    write_changes(root, commit.changes)
    try:
        git.add([c.path for c in commit.changes if c.status != "deleted"])
        git.rm([c.path for c in commit.changes if c.status == "deleted"], cached=True)
        return git.commit(commit.message, author=author, paths=paths)
    except BaseException:
        # A failure after `git commit` did its work (reading the new sha, a kill): the
        # commit is whole. Putting its files back would leave HEAD and the tree apart.
        if not _moved(git, head):
            _put_back(git, root, saved, new_folders)
        raise


def _moved(git: Git, head: str | None) -> bool:
    try:
        return git.head() != head
    except Exception:
        return False


def _missing_folders(root: Path, paths: Sequence[str]) -> list[Path]:
    missing: set[Path] = set()
    for path in paths:
        folder = (root / path).parent
        while folder != root and not folder.exists():
            missing.add(folder)
            folder = folder.parent
    return sorted(missing, key=lambda p: len(p.parts), reverse=True)


def _put_back(git: Git, root: Path, saved: dict[str, _Saved], new_folders: list[Path]) -> None:
    """Undo one half-made commit: the index entries to HEAD, the files to `saved`."""
    git.restore_index(sorted(saved))
    undo: list[FileChange] = []
    for path, old in sorted(saved.items()):
        now = (root / path).is_file()
        if old.content is None:
            if now:
                undo.append(FileChange(path, "deleted", None))
        else:
            undo.append(FileChange(path, "modified" if now else "added", old.content))
    write_changes(root, undo)
    for path, old in saved.items():
        if old.mode is not None:
            os.chmod(root / path, old.mode)
    for folder in new_folders:  # deepest first
        with suppress(OSError):
            folder.rmdir()
