"""Git through the `git` command line.

Every call is an argv list (never a shell string) run in the repository folder. The
environment is kept as it is, GIT_* variables included, so that GIT_AUTHOR_DATE and
friends fix commit dates in tests; only LC_ALL=C is forced, for output we can parse.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from engine.errors import GitError
from engine.interrupts import deferred


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["LC_ALL"] = "C"
    # A push or fetch must fail, not wait for a password nobody will type.
    env.setdefault("GIT_TERMINAL_PROMPT", "0")
    return env


_LOW_SPACE = 1024 * 1024  # bytes: below this, a failed git write is most likely a full disk


def _free_space(root: Path) -> int | None:
    try:
        return shutil.disk_usage(root).free
    except OSError:
        return None


def _hint(stderr: str, root: Path | None = None) -> str:
    free = _free_space(root) if root is not None else None
    if free is not None and free < _LOW_SPACE:
        # git often says only "couldn't write ...lock" when the disk is full
        return (
            f"the disk holding the repository is full ({free // 1024} KiB free): free some "
            "space, then run waypath again"
        )
    if "not a git repository" in stderr:
        return "run waypath inside a git checkout, or point it at one"
    if "Please tell me who you are" in stderr or "empty ident" in stderr:
        return "set user.name and user.email (git config), or pass an author"
    if "No space left on device" in stderr or "out of disk space" in stderr:
        return "the disk is full: free some space, then run waypath again"
    if "Disk quota exceeded" in stderr:
        return "the disk quota is used up: free some space, then run waypath again"
    if "index.lock" in stderr and "File exists" in stderr:
        return "another git process is running in this repository; wait for it, then retry"
    return "run the command above in the repository to see what git says"


def _checked_name(name: str, what: str) -> str:
    """`name` if git accepts it as a branch or remote name (the rules of `git
    check-ref-format`); a name starting with "-" would be read as an option by git."""
    bad = (
        not name
        or name.startswith(("-", "/", "."))
        or name.endswith(("/", ".", ".lock"))
        or any(part in name for part in ("..", "@{", "//", "/."))
        or any(ord(c) < 0x20 or c in " ~^:?*[\\\x7f" for c in name)
        or name == "@"
    )
    if bad:
        raise GitError(
            f"invalid {what} name {name!r}",
            hint="use letters, digits and - _ / . (see `git check-ref-format`)",
        )
    return name


def _run_to_the_end(
    argv: list[str], cwd: Path, stdin: bytes | None
) -> subprocess.CompletedProcess[bytes]:
    """Run `argv`; an interrupt (Ctrl-C, SIGTERM, SIGHUP) is raised after git has ended.

    subprocess.run kills the child on an interrupt: a `git commit` killed that way leaves
    `.git/index.lock` behind and the repository unusable until someone deletes it; and an
    interrupt in the middle of `communicate` cannot be resumed when there is input
    (engine/interrupts.py). git ends on its own within moments (or on the same Ctrl-C,
    cleaning up after itself)."""
    with deferred(), subprocess.Popen(
        argv,
        cwd=cwd,
        env=_env(),
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        out, err = proc.communicate(stdin)
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


class Git:
    """The git checkout at (or above) `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def run(
        self, *args: str, check: bool = True, stdin: bytes | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        """Run `git ARGS` in root; on failure (when `check`) raise GitError with stderr."""
        argv = ["git", *args]
        try:
            proc = _run_to_the_end(argv, self.root, stdin)
        except FileNotFoundError as exc:
            raise GitError(
                "git is not installed (or not on PATH)", hint="install git and retry"
            ) from exc
        if check and proc.returncode != 0:
            stderr = proc.stderr.decode("utf-8", "replace").strip()
            raise GitError(
                f"`{' '.join(argv)}` failed (exit {proc.returncode}): {stderr}",
                hint=_hint(stderr, self.root),
            )
        return proc

    def _out(self, *args: str) -> str:
        return self.run(*args).stdout.decode("utf-8", "surrogateescape").rstrip("\n")

    def is_repo(self) -> bool:
        proc = self.run("rev-parse", "--is-inside-work-tree", check=False)
        return proc.returncode == 0 and proc.stdout.strip() == b"true"

    def is_bare(self) -> bool:
        """Whether root is a bare repository (False too when git is not installed)."""
        try:
            proc = self.run("rev-parse", "--is-bare-repository", check=False)
        except GitError:
            return False
        return proc.returncode == 0 and proc.stdout.strip() == b"true"

    def check_identity(self, author: str | None) -> None:
        """GitError before any change if `git commit` would refuse for want of a name."""
        for who in ("GIT_COMMITTER_IDENT", *(() if author else ("GIT_AUTHOR_IDENT",))):
            proc = self.run("var", who, check=False)
            if proc.returncode != 0:
                raise GitError(
                    "git does not know who you are: user.name and user.email are not set",
                    hint='run `git config user.name "Your Name"` and `git config user.email '
                    'you@example.com` in the repository (or --global), then run waypath again',
                )

    def toplevel(self) -> Path:
        return Path(self._out("rev-parse", "--show-toplevel"))

    def git_dir(self) -> Path:
        return Path(self._out("rev-parse", "--absolute-git-dir"))

    def common_dir(self) -> Path:
        """The git folder shared by all worktrees of the repository."""
        return Path(self._out("rev-parse", "--path-format=absolute", "--git-common-dir"))

    def is_dirty(self, paths: Sequence[str] | None = None) -> list[str]:
        """Changed, staged or untracked paths (repo-root relative, sorted); [] when clean."""
        args = ["status", "--porcelain=v1", "-z", "--untracked-files=all"]
        if paths is not None:
            if not paths:
                return []
            args += ["--", *paths]
        raw = self.run(*args).stdout.decode("utf-8", "surrogateescape")
        found: set[str] = set()
        fields = raw.split("\0")
        i = 0
        while i < len(fields):
            entry = fields[i]
            i += 1
            if len(entry) < 4:
                continue
            found.add(entry[3:])
            if entry[0] in "RC":  # a rename or copy is followed by its source path
                found.add(fields[i])
                i += 1
        return sorted(found)

    def current_branch(self) -> str | None:
        """The checked-out branch, or None on a detached HEAD."""
        proc = self.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
        if proc.returncode != 0:
            return None
        return proc.stdout.decode("utf-8", "surrogateescape").strip()

    def head(self) -> str | None:
        """The sha of HEAD, or None in a repository without commits."""
        proc = self.run("rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False)
        if proc.returncode != 0:
            return None
        return proc.stdout.decode("ascii").strip()

    def branch_exists(self, name: str) -> bool:
        _checked_name(name, "branch")
        proc = self.run("show-ref", "--verify", "--quiet", f"refs/heads/{name}", check=False)
        return proc.returncode == 0

    def create_branch(self, name: str, start: str = "HEAD") -> None:
        self.run("branch", _checked_name(name, "branch"), _checked_name(start, "start point"))

    def checkout(self, name: str) -> None:
        # The trailing "--" makes git read `name` as a branch, never as a path.
        self.run("checkout", "--quiet", _checked_name(name, "branch"), "--")

    def add(self, paths: Sequence[str]) -> None:
        if paths:
            self.run("add", "--", *paths)

    def rm(self, paths: Sequence[str], *, cached: bool = False) -> None:
        if paths:
            extra = ["--cached"] if cached else []
            self.run("rm", "--quiet", *extra, "--", *paths)

    def restore_index(self, paths: Sequence[str]) -> None:
        """Make the index entries of `paths` equal to HEAD again (unstage them)."""
        if not paths:
            return
        if self.head() is None:
            self.run("rm", "--quiet", "--cached", "--ignore-unmatch", "--", *paths)
        else:
            self.run("reset", "--quiet", "HEAD", "--", *paths)

    def commit(
        self,
        message: str,
        *,
        author: str | None = None,
        paths: Sequence[str] | None = None,
    ) -> str:
        """Commit and return the new sha.

        With `paths`, only those paths are committed (`git commit --only`): whatever else
        the user had staged stays staged and out of our commit. The message is kept as
        written, '#' lines included (`--cleanup=whitespace`).
        """
        args = ["commit", "--quiet", "--cleanup=whitespace", "--file=-"]
        if author is not None:
            args.append(f"--author={author}")
        if paths is not None:
            args += ["--only", "--", *paths]
        # surrogateescape: a file name that is not UTF-8 goes into the message as its bytes
        self.run(*args, stdin=message.encode("utf-8", "surrogateescape"))
        sha = self.head()
        assert sha is not None  # we just made a commit
        return sha

    def log(self, range_: str = "HEAD") -> list[tuple[str, str]]:
        """(sha, message) of each commit in `range_`, oldest first; messages without the
        final newline."""
        raw = self._out("log", "-z", "--reverse", "--format=%H%x00%B", range_, "--")
        if not raw:
            return []
        fields = raw.split("\0")
        return [(fields[i], fields[i + 1].rstrip("\n")) for i in range(0, len(fields) - 1, 2)]

    def push(self, remote: str, branch: str) -> None:
        _checked_name(remote, "remote")
        _checked_name(branch, "branch")
        self.run("push", remote, f"refs/heads/{branch}:refs/heads/{branch}")
