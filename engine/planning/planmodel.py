"""The plan: everything `apply` will do, computed without touching the repo.

A plan is plain data. It serialises to JSON (with a format version and the hash of every
input file) so that `waypath plan --out plan.json` can be reviewed and later applied
exactly, and refused if the repo changed in between.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

PLAN_FORMAT_VERSION = 1

FileStatus = Literal["added", "modified", "deleted"]


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class FileChange:
    """One file's new state after a commit. `content` is None for a deletion."""

    path: str
    status: FileStatus
    content: bytes | None
    old_sha256: str | None = None
    # The plain data of `content`'s documents when the planner already parsed it (never
    # serialized): later passes over the commits need not parse the file again.
    data: list[Any] | None = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "status": self.status,
            "old_sha256": self.old_sha256,
            "content": None if self.content is None else self.content.decode("utf-8"),
        }


@dataclass
class Note:
    """A manual step for the runbook."""

    title: str
    text: str = ""
    commands: list[str] = field(default_factory=list)
    unverified: bool = False

    def key(self) -> tuple[str, str, tuple[str, ...], bool]:
        return (self.title, self.text, tuple(self.commands), self.unverified)


class Notes(list[Note]):
    """A commit's manual steps in order, each once. `add` asks a set, not the list: the
    split commit of a fleet holds a note per cluster, and a scan per note was quadratic."""

    def __init__(self) -> None:
        super().__init__()
        self._seen: set[tuple[str, str, tuple[str, ...], bool]] = set()

    def add(self, note: Note) -> None:
        key = note.key()
        if key not in self._seen:
            self._seen.add(key)
            self.append(note)


@dataclass
class GateInfo:
    wait: str
    check: list[str] = field(default_factory=list)


@dataclass
class ReportItem:
    """Something the plan says out loud: a dropped values key, a selector that matched nothing,
    a file that could not be edited, an intentional uninstall."""

    kind: str
    message: str
    path: str | None = None


@dataclass
class Commit:
    """One phase of one recipe, for the instances that share the path: one git commit."""

    subject: str
    body: str
    recipe: str
    phase: str
    phase_number: int
    phase_count: int
    from_version: str
    to_version: str
    instances: list[str]
    wave: str | None = None
    changes: list[FileChange] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    gate: GateInfo | None = None
    reports: list[ReportItem] = field(default_factory=list)

    @property
    def message(self) -> str:
        return self.subject if not self.body else f"{self.subject}\n\n{self.body}"


@dataclass
class InstancePlan:
    component: str
    instance: str  # the instance's scope folder, repo-relative ("." for the root)
    paths: list[str]  # files of the detected objects
    edition: str | None
    version: str | None
    target: str
    path: list[str]  # recipe ids in order
    wave: str | None = None
    status: Literal["upgrade", "current", "ahead"] = "upgrade"
    explanation: list[str] = field(default_factory=list)
    clusters: list[str] = field(default_factory=list)  # the cluster roots it reaches


@dataclass
class Plan:
    target: str
    instances: list[InstancePlan]
    commits: list[Commit]
    inputs: dict[str, str]  # repo-relative path -> sha256 of the bytes the plan was made from
    reports: list[ReportItem] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)
    format_version: int = PLAN_FORMAT_VERSION

    @property
    def path(self) -> list[str]:
        """Recipe ids in the order their first commit appears."""
        seen: list[str] = []
        for commit in self.commits:
            if commit.recipe not in seen:
                seen.append(commit.recipe)
        return seen

    @property
    def has_changes(self) -> bool:
        return any(c.changes for c in self.commits)

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "target": self.target,
            "path": self.path,
            "instances": [asdict(i) for i in self.instances],
            "commits": [
                {
                    "message": c.message,
                    "subject": c.subject,
                    "body": c.body,
                    "recipe": c.recipe,
                    "phase": c.phase,
                    "phase_number": c.phase_number,
                    "phase_count": c.phase_count,
                    "from_version": c.from_version,
                    "to_version": c.to_version,
                    "instances": c.instances,
                    "wave": c.wave,
                    "files": [f.to_json() for f in c.changes],
                    "notes": [asdict(n) for n in c.notes],
                    "gate": asdict(c.gate) if c.gate else None,
                    "reports": [asdict(r) for r in c.reports],
                }
                for c in self.commits
            ],
            "inputs": dict(sorted(self.inputs.items())),
            "reports": [asdict(r) for r in self.reports],
            "unverified": self.unverified,
        }
