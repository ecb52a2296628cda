"""The plan file (`waypath plan --format json --out plan.json`) as a strict schema.

A plan file is input like any other: it may be edited by hand, truncated or hostile. It
is read through the one input path (size, FIFO and nesting limits), then validated here:
every field of the right type, no unknown field, every path a plain path inside the
repository (not absolute, no `..`, not in `.git`, no NUL), strings and lists bounded,
every hash 64 hex digits, and an input hash for every file the plan changes, so the
stale check cannot be skipped by emptying `inputs`.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from engine.errors import PlanError, Problem
from engine.planning.planmodel import (
    PLAN_FORMAT_VERSION,
    Commit,
    FileChange,
    GateInfo,
    InstancePlan,
    Note,
    Plan,
    ReportItem,
)
from engine.yamltext.inputs import load_json

_MAX_TEXT = 4 * 1024 * 1024  # one file's content
_MAX_ITEMS = 100_000


def _plain_path(value: str) -> str:
    pure = PurePosixPath(value)
    if (
        not value
        or "\0" in value
        or "\\" in value
        or pure.is_absolute()
        or ".." in pure.parts
        or ".git" in pure.parts
        or pure.parts in ((), (".",))
    ):
        raise ValueError("not a plain path inside the repository")
    return value


RepoPath = Annotated[str, Field(max_length=4096), AfterValidator(_plain_path)]
Sha = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Text = Annotated[str, Field(max_length=_MAX_TEXT)]
Short = Annotated[str, Field(max_length=65536)]


def _no_nul(value: str) -> str:
    if "\0" in value:
        raise ValueError("contains a NUL character")
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class _File(_Model):
    path: RepoPath
    status: Literal["added", "modified", "deleted"]
    old_sha256: Sha | None
    content: Annotated[Text, AfterValidator(_no_nul)] | None


class _Note(_Model):
    title: Short
    text: Text = ""
    commands: list[Short] = Field(default_factory=list, max_length=_MAX_ITEMS)
    unverified: bool = False


class _Gate(_Model):
    wait: Short
    check: list[Short] = Field(default_factory=list, max_length=_MAX_ITEMS)


class _Report(_Model):
    kind: Short
    message: Text
    path: Short | None = None


class _Commit(_Model):
    message: Text
    subject: Short
    body: Text
    recipe: Short
    phase: Short
    phase_number: int
    phase_count: int
    from_version: Short
    to_version: Short
    instances: list[Short] = Field(max_length=_MAX_ITEMS)
    wave: Short | None = None
    files: list[_File] = Field(max_length=_MAX_ITEMS)
    notes: list[_Note] = Field(default_factory=list, max_length=_MAX_ITEMS)
    gate: _Gate | None = None
    reports: list[_Report] = Field(default_factory=list, max_length=_MAX_ITEMS)


class _Instance(_Model):
    component: Short
    instance: Short
    paths: list[Short] = Field(max_length=_MAX_ITEMS)
    edition: Short | None
    version: Short | None
    target: Short
    path: list[Short] = Field(max_length=_MAX_ITEMS)
    wave: Short | None = None
    status: Literal["upgrade", "current", "ahead"] = "upgrade"
    explanation: list[Text] = Field(default_factory=list, max_length=_MAX_ITEMS)
    clusters: list[Short] = Field(default_factory=list, max_length=_MAX_ITEMS)


class PlanFile(_Model):
    format_version: Literal[1]
    target: Short
    path: list[Short] = Field(default_factory=list, max_length=_MAX_ITEMS)
    instances: list[_Instance] = Field(max_length=_MAX_ITEMS)
    commits: list[_Commit] = Field(max_length=_MAX_ITEMS)
    inputs: dict[RepoPath, Sha] = Field(max_length=_MAX_ITEMS)
    reports: list[_Report] = Field(default_factory=list, max_length=_MAX_ITEMS)
    unverified: list[Short] = Field(default_factory=list, max_length=_MAX_ITEMS)


_HINT = "make the plan again with `waypath plan --format json --out FILE`"


def read_plan(path: Path) -> Plan:
    """The plan in file `path`; PlanError naming the file and each bad field otherwise."""
    return parse_plan(load_json(path, "plan file"), path)


def parse_plan(raw: object, path: Path | str = "the plan") -> Plan:
    """The plan in JSON data `raw` (as `Plan.to_json` gives), validated."""
    if isinstance(raw, dict) and raw.get("format_version") not in (PLAN_FORMAT_VERSION, None):
        raise PlanError(
            f"{path}: plan format version {raw.get('format_version')!r} is not supported "
            f"(this Waypath reads version {PLAN_FORMAT_VERSION})",
            hint="make the plan again with this version of waypath",
        )
    try:
        model = PlanFile.model_validate(raw)
    except ValidationError as exc:
        problems = [
            Problem(f"{_where(e['loc'])}: {e['msg']}") for e in exc.errors()[:20]
        ]
        raise PlanError(
            f"{path} is not a valid plan file ({exc.error_count()} problem(s))",
            problems=problems,
            hint=_HINT,
        ) from None
    plan = _to_plan(model)
    _check_inputs_cover_changes(path, plan)
    return plan


def _where(loc: tuple[int | str, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".") or "(top)"


def _to_plan(model: PlanFile) -> Plan:
    return Plan(
        target=model.target,
        instances=[InstancePlan(**i.model_dump()) for i in model.instances],
        commits=[_to_commit(c) for c in model.commits],
        inputs=dict(model.inputs),
        reports=[ReportItem(**r.model_dump()) for r in model.reports],
        unverified=list(model.unverified),
    )


def _to_commit(c: _Commit) -> Commit:
    data: dict[str, Any] = c.model_dump(exclude={"message", "files", "notes", "gate", "reports"})
    return Commit(
        **data,
        changes=[
            FileChange(
                f.path,
                f.status,
                None if f.content is None else f.content.encode("utf-8", "surrogateescape"),
                f.old_sha256,
            )
            for f in c.files
        ],
        notes=[Note(**n.model_dump()) for n in c.notes],
        gate=GateInfo(**c.gate.model_dump()) if c.gate else None,
        reports=[ReportItem(**r.model_dump()) for r in c.reports],
    )


def _check_inputs_cover_changes(path: Path | str, plan: Plan) -> None:
    """Each file a plan modifies or deletes must be in `inputs` with the hash its first
    change starts from: the stale check compares exactly those files."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for commit in plan.commits:
        for change in commit.changes:
            if change.path in seen:
                continue
            seen.add(change.path)
            if change.status == "added":
                continue
            if change.old_sha256 is None:
                problems.append(Problem(f"{change.path}: {change.status} without old_sha256"))
            elif plan.inputs.get(change.path) != change.old_sha256:
                problems.append(Problem(f"{change.path}: not in inputs with its old_sha256"))
    if problems:
        raise PlanError(
            f"{path}: the plan's inputs do not cover the files it changes",
            problems=problems[:20],
            hint=_HINT,
        )
