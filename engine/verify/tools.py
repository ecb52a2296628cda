"""The external tools verify runs: a kustomize build command and helm.

A tool that is not there is `None` with the reason, and the checks that need it are
reported as skipped, never as passed. A command the user names (`--kustomize CMD`,
`--helm CMD`) that cannot be found is an error: they asked for it.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from engine.errors import UsageError

TIMEOUT_SECONDS = 120
T = TypeVar("T")


@dataclass(frozen=True)
class Tool:
    """A command prefix (`["kubectl", "kustomize"]`), or why there is none."""

    argv: tuple[str, ...] | None
    missing: str = ""

    @property
    def identity(self) -> list[str]:
        """The command and its binary's size and mtime: part of every cache key, so an
        upgraded tool never reuses results of the old one."""
        if not self.argv:
            return []
        try:
            info = os.stat(self.argv[0])
        except OSError:
            return list(self.argv)
        return [*self.argv, str(info.st_size), str(info.st_mtime_ns)]

    @property
    def label(self) -> str:
        return " ".join(self.argv) if self.argv else "(missing)"


@dataclass(frozen=True)
class Ran:
    code: int
    stdout: str
    stderr: str


def _named(command: str, option: str) -> Tool:
    try:
        argv = shlex.split(command)
    except ValueError as exc:  # an unclosed quote
        raise UsageError(
            f"{option} {command!r} cannot be split into words: {exc}",
            hint="quote the command as a shell would, e.g. --kustomize 'kustomize build'",
        ) from None
    if not argv or shutil.which(argv[0]) is None:
        raise UsageError(
            f"{option} {command!r}: {argv[0] if argv else 'the command'} is not an executable "
            "on PATH or a path to one",
            hint=f"check the spelling, or leave {option} out to use what PATH has",
        )
    return Tool((str(Path(shutil.which(argv[0]) or argv[0])), *argv[1:]))


def find_kustomize(command: str | None = None) -> Tool:
    """`--kustomize CMD`, else `kubectl kustomize`, else `kustomize build` from PATH."""
    if command:
        return _named(command, "--kustomize")
    kubectl = shutil.which("kubectl")
    if kubectl:
        return Tool((kubectl, "kustomize"))
    kustomize = shutil.which("kustomize")
    if kustomize:
        return Tool((kustomize, "build"))
    return Tool(None, "neither kubectl nor kustomize is on PATH (or pass --kustomize CMD)")


def find_helm(command: str | None = None) -> Tool:
    """`--helm CMD`, else `helm` from PATH."""
    if command:
        return _named(command, "--helm")
    helm = shutil.which("helm")
    if helm:
        return Tool((helm,))
    return Tool(None, "helm is not on PATH (or pass --helm CMD)")


def run(argv: list[str], *, cwd: Path | None = None) -> Ran:
    """Run a tool; a timeout or an exec failure is a failed run, not an exception."""
    try:
        done = subprocess.run(
            argv, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False
        )
    except subprocess.TimeoutExpired:
        return Ran(124, "", f"{argv[0]} did not finish within {TIMEOUT_SECONDS}s")
    except OSError as exc:
        return Ran(127, "", f"cannot run {argv[0]}: {exc.strerror or exc}")
    return Ran(done.returncode, done.stdout, done.stderr)


def parallel(jobs: list[Callable[[], T]]) -> list[T]:
    """Run independent tool calls side by side (they are separate processes; the threads
    only wait on them)."""
    if len(jobs) <= 1:
        return [job() for job in jobs]
    with ThreadPoolExecutor(max_workers=min(len(jobs), os.cpu_count() or 2)) as pool:
        return list(pool.map(lambda job: job(), jobs))
