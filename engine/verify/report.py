"""What verify found: one result per check and subject, notes, and how to show them."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from engine.verify.releases import Rendered

Status = Literal["pass", "fail", "skip"]
CHECKS = ("build", "schema", "reference", "duplicate", "render", "wave")


@dataclass(frozen=True)
class CheckResult:
    check: str  # one of CHECKS
    status: Status
    path: str  # the repo file to look at
    subject: str  # what was checked, e.g. "Kustomization flux-system/apps (path ./apps)"
    message: str = ""


@dataclass(frozen=True)
class Note:
    path: str
    message: str


@dataclass
class VerifyReport:
    results: list[CheckResult] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    tools: dict[str, str] = field(default_factory=dict)  # tool -> command, or "missing: why"
    rendered: list[Rendered] = field(default_factory=list)  # not serialized: for comparisons
    # not serialized: cluster -> repo file -> digest of what the cluster gets from it (leaks.py)
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)

    def add(self, result: CheckResult) -> None:
        if result not in self._seen:
            self._seen.add(result)
            self.results.append(result)

    def note(self, path: str, message: str) -> None:
        note = Note(path, message)
        if note not in self.notes:
            self.notes.append(note)

    def __post_init__(self) -> None:
        self._seen: set[CheckResult] = set(self.results)

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if r.status == "fail"]

    @property
    def skipped(self) -> list[CheckResult]:
        return [r for r in self.results if r.status == "skip"]

    @property
    def ok(self) -> bool:
        return not self.failures

    def counts(self) -> dict[str, dict[str, int]]:
        counts: dict[str, Counter[str]] = {check: Counter() for check in CHECKS}
        for result in self.results:
            counts[result.check][result.status] += 1
        return {check: dict(sorted(c.items())) for check, c in counts.items()}

    @property
    def verdict(self) -> str:
        """`failed`, `passed`, or `passed, N skipped` (a skip is never a pass)."""
        if self.failures:
            return f"failed ({len(self.failures)} problem{'s' if len(self.failures) != 1 else ''})"
        skipped = len(self.skipped)
        return f"passed, {skipped} skipped" if skipped else "passed"

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "verdict": self.verdict,
            "tools": dict(self.tools),
            "counts": self.counts(),
            "failures": [asdict(r) for r in self.failures],
            "skipped": [asdict(r) for r in self.skipped],
            "notes": [asdict(n) for n in self.notes],
        }


def _summary_line(check: str, counts: dict[str, int]) -> str:
    parts = [
        f"{counts[s]} {word}"
        for s, word in (("pass", "passed"), ("fail", "failed"), ("skip", "skipped"))
        if counts.get(s)
    ]
    return f"  {check:<10} {', '.join(parts) or 'nothing to check'}"


def _skip_reasons(report: VerifyReport) -> list[str]:
    reasons = Counter(f"{r.check}: {r.message}" for r in report.skipped)
    return [f"  {reason}" + (f" ({n}x)" if n > 1 else "") for reason, n in sorted(reasons.items())]


def format_text(report: VerifyReport, *, title: str = "verify") -> str:
    lines = [f"{title}: {report.verdict}"]
    lines.extend(f"  {tool:<10} {command}" for tool, command in report.tools.items())
    counts = report.counts()
    # The wave check is plan --verify's (a commit against its wave): no line where it did not run.
    lines.extend(
        _summary_line(check, counts[check]) for check in CHECKS if check != "wave" or counts[check]
    )
    if report.failures:
        lines.append("failures:")
        for r in report.failures:
            body = r.message.replace("\n", "\n      ")
            lines.append(f"  {r.path}: {r.check} of {r.subject}:\n      {body}")
    if report.skipped:
        lines.append("skipped (not checked):")
        lines.extend(_skip_reasons(report))
    if report.notes:
        lines.append("notes:")
        lines.extend(f"  {n.path}: {n.message}" for n in report.notes)
    return "\n".join(lines) + "\n"
