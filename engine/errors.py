"""The error types the core raises. The CLI renders them once, at one boundary.

Every error carries what a user needs to act: where (file, line, column), what went
wrong, and a hint saying what to do next. Nothing here imports click.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """A place in a file. Lines and columns are 1-based, as editors show them."""

    path: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        if self.line is None:
            return self.path
        if self.column is None:
            return f"{self.path}:{self.line}"
        return f"{self.path}:{self.line}:{self.column}"


@dataclass
class Problem:
    """One problem in an input, e.g. one failing field of a recipe."""

    message: str
    location: Location | None = None
    field_path: str | None = None

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        field_ = f"{self.field_path}: " if self.field_path else ""
        return f"{where}{field_}{self.message}"


class WaypathError(Exception):
    """Base of every error a user can cause and fix. Exit code 1."""

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        location: Location | None = None,
        hint: str | None = None,
        problems: list[Problem] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint
        self.problems: list[Problem] = list(problems or [])

    def render(self) -> str:
        where = f"{self.location}: " if self.location else ""
        lines = [f"error: {where}{self.message}"]
        lines.extend(f"  - {p}" for p in self.problems)
        if self.hint:
            lines.append(f"hint: {self.hint}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


class UsageError(WaypathError):
    """A command-line argument cannot be understood."""


class RecipeError(WaypathError):
    """A recipe or component file is malformed or inconsistent."""


class TemplateError(RecipeError):
    """A recipe template failed to compile or render (undefined variable, sandbox violation)."""


class PatchError(RecipeError):
    """A patch operation could not be applied to the document it selected."""


class VersionError(WaypathError):
    """A version, range or target could not be understood."""


class PathError(WaypathError):
    """No recipe path leads to the target, or the recipe graph is inconsistent."""


class RepoError(WaypathError):
    """The repository holds something we cannot read or safely edit."""


class YamlError(RepoError):
    """A YAML file in the repository cannot be parsed."""


class LimitError(YamlError):
    """An input over the limits every input has (size, nesting, alias expansion, a FIFO
    or device): refused as it is, never handed to a slower parser."""


class DetectionError(WaypathError):
    """An instance's version cannot be known without help from the user."""


class SafetyError(WaypathError):
    """A planned commit would make Flux uninstall something, or leak a secret."""


class PlanError(WaypathError):
    """A plan cannot be applied (stale inputs, wrong format version)."""


class PreconditionError(WaypathError):
    """A recipe's `assert` step found the repo not in the state the recipe needs."""


class GitError(WaypathError):
    """A git command failed or the checkout is not in a state we may write to."""
