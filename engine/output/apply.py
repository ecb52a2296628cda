"""Apply a plan: write its files to the working tree all-or-nothing, optionally as commits.

Invariant 4 (atomicity) lives here and in swap.py: every write is journaled and swapped
in with the originals kept, so a failure, a signal or a kill at any point is undone (or,
once `git commit` did its work, finished) by this run or by the next one. Every run that
writes holds the repository's lock (lock.py) from before planning to the end.
"""

from __future__ import annotations

import hashlib
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from engine.errors import GitError, PlanError, Problem, RepoError, WaypathError
from engine.output.fsops import DEFAULT_FS, Fs
from engine.output.gitcli import Git
from engine.output.journal import recover
from engine.output.lock import lock_file, lock_folder, repo_lock
from engine.output.swap import Swap, safe_path, swap_in, write_changes
from engine.planning.planmodel import Commit, FileChange, Plan, sha256_bytes

__all__ = [
    "DEFAULT_FS",
    "Fs",
    "apply_plan",
    "commit_plan",
    "exclusive",
    "safe_path",
    "write_changes",
]

@contextmanager
def exclusive(root: Path, notices: list[str] | None = None) -> Iterator[None]:
    """Hold the repository's lock; on taking it, finish or undo what an interrupted run
    left in flight (its note goes to `notices`)."""
    path = lock_file(root)
    with repo_lock(path) as taken:
        if taken:
            note = recover(path.parent)
            if note is not None and notices is not None:
                notices.append(note)
        yield


# -- checking a plan against the repo ------------------------------------------------------


def check_inputs(root: Path, plan: Plan) -> None:
    """Refuse a plan whose input files no longer hold the bytes it was made from (a plan
    read from a file has an input for every file it changes: planfile.read_plan)."""
    expected = dict(plan.inputs)
    problems: list[Problem] = []
    for path, sha in sorted(expected.items()):
        safe_path(root, path)  # never read outside the checkout
        now = _sha_of(root, path)
        if now == sha:
            continue
        if now is None:
            problems.append(Problem(f"{path}: missing"))
        else:
            problems.append(Problem(f"{path}: changed"))
    if problems:
        raise PlanError(
            f"{len(problems)} input file(s) changed since the plan was made",
            problems=problems,
            hint="make the plan again",
        )


def _sha_of(root: Path, path: str) -> str | None:
    """sha256 of the regular file at repo-relative `path`; None if there is none. A FIFO
    or device there is never opened for reading (it could block or never end)."""
    file = root / path
    try:
        info = file.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise RepoError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file"
    digest = hashlib.sha256()
    try:
        with open(file, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    except OSError as exc:
        raise RepoError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return digest.hexdigest()


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
    with exclusive(root):
        if in_git and not allow_dirty:
            refuse_dirty(git)
        for commit in plan.commits:
            for change in commit.changes:
                safe_path(root, change.path)
        check_inputs(root, plan)
        changes = final_changes(plan)
        write_changes(root, changes, folder=lock_folder(root))
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
    with exclusive(root):
        if not allow_dirty:
            refuse_dirty(git)
        for commit in plan.commits:
            for change in commit.changes:
                safe_path(root, change.path)
        check_inputs(root, plan)
        final_changes(plan)  # refuses an inconsistent sequence before the first commit
        git.check_identity(author)
        if branch is not None:
            if git.branch_exists(branch):
                raise GitError(
                    f"branch {branch} already exists",
                    hint="choose another branch name, or delete that branch",
                )
            git.create_branch(branch)
            git.checkout(branch)
        folder = lock_folder(root)
        shas: list[str] = []
        total = len(plan.commits)
        for number, commit in enumerate(plan.commits, 1):
            if not commit.changes:
                continue
            try:
                shas.append(_commit_one(git, root, commit, author, folder))
            except WaypathError as exc:
                where = f"on branch {branch}" if branch else "on the current branch"
                hint = (
                    f"{len(shas)} earlier commit(s) were made {where}; the files of "
                    "this commit are as they were before it"
                )
                if exc.problems:  # the put-back could not finish
                    hint = exc.hint or hint
                elif exc.hint and "disk space" in exc.hint:
                    hint = f"free some disk space, then run waypath again; {hint}"
                raise type(exc)(
                    f"commit {number} of {total} ({commit.subject}) failed: {exc.message}",
                    problems=exc.problems,
                    hint=hint,
                ) from exc
        return shas


def _commit_one(git: Git, root: Path, commit: Commit, author: str | None, folder: Path) -> str:
    paths = [c.path for c in commit.changes]
    head = git.head()
    swap = swap_in(root, commit.changes, folder=folder, kind="commit", head=head)
    try:
        git.add([c.path for c in commit.changes if c.status != "deleted"])
        git.rm([c.path for c in commit.changes if c.status == "deleted"], cached=True)
        sha = git.commit(commit.message, author=author, paths=paths)
    except BaseException as exc:
        # A failure after `git commit` did its work (reading the new sha, a kill): the
        # commit is whole. Putting its files back would leave HEAD and the tree apart.
        if _moved(git, head):
            _keep(swap)
            raise
        problems = swap.undo(keep_journal=True)  # renames: no free space needed
        try:
            git.restore_index(paths)
        except Exception as undo_exc:
            problems.append(Problem(f"could not unstage {', '.join(paths)}: {undo_exc}"))
        if not problems:
            swap.forget()
        if problems and isinstance(exc, Exception):
            raise GitError(
                f"{exc}".splitlines()[0].removeprefix("error: "),
                problems=problems,
                hint="the put-back was incomplete; run waypath again (with free space) to "
                "finish it",
            ) from exc
        raise
    _keep(swap)
    return sha


def _keep(swap: Swap) -> None:
    """The commit is made: drop the originals. If the journal cannot be marked, the next
    run sees HEAD moved and does the same."""
    interrupted: BaseException | None = None
    try:
        swap.mark_done()
    except OSError:
        pass
    except BaseException as exc:  # Ctrl-C, SIGTERM: the clean-up first
        interrupted = exc
    swap.finish()
    if interrupted is not None:
        raise interrupted


def _moved(git: Git, head: str | None) -> bool:
    try:
        return git.head() != head
    except Exception:
        return False
