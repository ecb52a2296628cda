"""Versions, version constraints and a component's release catalog.

Constraints follow Masterminds/semver v3, the library Helm and Flux use to resolve
`spec.chart.spec.version`: `||` is OR, a comma or a space is AND, `1.2 - 1.4.5` is a
hyphen range, `x`/`X`/`*` are wildcards, `~` and `^` are tilde and caret ranges, and a
missing part acts like a wildcard (`=1.2` is `1.2.x`, `<=1.2` is `<1.3.0`, `>1.2` is
`>=1.3.0`) except after `>=` and `<`, where it is zero (`<1.10` is `<1.10.0`).

Pre-releases (`1.18.10-edge`) are admitted only by an AND group that itself names a
pre-release, so `>=2.15.0` never matches `2.16.0-rc.1`. Masterminds checks this per
comparator; we check it per AND group so that `>=1.18.10-edge <1.19` admits `1.18.10-edge`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from semver import Version as SemVer

from engine.errors import Problem, VersionError
from engine.recipe.models import Component, Release

_PART = r"(?:x|X|\*|\d+)"
_VERSION = (
    rf"v?(?P<major>{_PART})(?:\.(?P<minor>{_PART}))?(?:\.(?P<patch>{_PART}))?"
    r"(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+(?P<build>[0-9A-Za-z.-]+))?"
)
_OPS = r"!=|>=|=>|<=|=<|~>|>|<|=|~|\^"
_COMPARATOR = re.compile(rf"(?P<op>{_OPS})?\s*{_VERSION}(?=[\s,]|$)")
_HYPHEN = re.compile(
    rf"(?<![^\s,])(?P<low>v?{_PART}(?:\.{_PART}){{0,2}}(?:-[0-9A-Za-z.-]+)?)"
    rf"\s+-\s+(?P<high>v?{_PART}(?:\.{_PART}){{0,2}}(?:-[0-9A-Za-z.-]+)?)(?=[\s,]|$)"
)
_SEMVER = re.compile(
    r"^v?(?P<major>\d+)(?:\.(?P<minor>\d+))?(?:\.(?P<patch>\d+))?"
    r"(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+(?P<build>[0-9A-Za-z.-]+))?$"
)
_CONSTRAINT_HINT = (
    "write an exact version (`2.11.5`), a wildcard (`2.x`, `2.11.*`), a caret or tilde "
    "range (`^2.11.0`, `~1.16`), comparisons (`>=1.9.0 <1.10`), `a || b`, or `1.2 - 1.4.5`"
)


def _is_wild(part: str | None) -> bool:
    return part is None or part in ("x", "X", "*")


def parse_semver(text: str) -> SemVer:
    """A version such as `2.11.5`, `v2.11.5`, `2.11` (= 2.11.0) or `1.18.10-edge`."""
    match = _SEMVER.match(text.strip())
    if not match:
        raise VersionError(
            f"`{text}` is not a version",
            hint="write a semantic version such as `2.11.5` (a `v` prefix and missing parts are fine)",
        )
    return SemVer(
        int(match["major"]),
        int(match["minor"] or 0),
        int(match["patch"] or 0),
        match["pre"],
        match["build"],
    )


@dataclass(frozen=True)
class _Comparator:
    op: str
    version: SemVer  # wildcard and missing parts are 0
    dirty: bool  # some part is a wildcard or missing
    major_wild: bool  # `*`, `x`
    minor_wild: bool  # `2`, `2.x`
    patch_wild: bool  # `2.11`, `2.11.x`

    def allows(self, v: SemVer) -> bool:
        return _OP_CHECKS[self.op](self, v)


def _tilde(c: _Comparator, v: SemVer) -> bool:
    if c.major_wild:
        return True
    if v.compare(c.version) < 0:
        return False
    return v.major == c.version.major and (c.minor_wild or v.minor == c.version.minor)


def _caret(c: _Comparator, v: SemVer) -> bool:
    if c.major_wild:
        return True
    if v.compare(c.version) < 0:
        return False
    con = c.version
    if con.major > 0 or c.minor_wild:
        return v.major == con.major
    if v.major > 0:
        return False
    if con.minor > 0 or c.patch_wild:
        return v.minor == con.minor
    if v.minor > 0:
        return False
    return v.patch == con.patch


def _equal(c: _Comparator, v: SemVer) -> bool:
    return _tilde(c, v) if c.dirty else v.compare(c.version) == 0


def _not_equal(c: _Comparator, v: SemVer) -> bool:
    return not _equal(c, v)


def _greater(c: _Comparator, v: SemVer) -> bool:
    if c.major_wild:
        return True
    if c.minor_wild:
        return v.major > c.version.major
    if c.patch_wild:
        return (v.major, v.minor) > (c.version.major, c.version.minor)
    return v.compare(c.version) > 0


def _less_equal(c: _Comparator, v: SemVer) -> bool:
    if c.major_wild:
        return True
    if c.minor_wild:
        return v.major <= c.version.major
    if c.patch_wild:
        return (v.major, v.minor) <= (c.version.major, c.version.minor)
    return v.compare(c.version) <= 0


def _greater_equal(c: _Comparator, v: SemVer) -> bool:
    return c.major_wild or v.compare(c.version) >= 0


def _less(c: _Comparator, v: SemVer) -> bool:
    return not c.major_wild and v.compare(c.version) < 0


_OP_CHECKS: dict[str, Callable[[_Comparator, SemVer], bool]] = {
    "": _equal,
    "=": _equal,
    "!=": _not_equal,
    ">": _greater,
    "<": _less,
    ">=": _greater_equal,
    "=>": _greater_equal,
    "<=": _less_equal,
    "=<": _less_equal,
    "~": _tilde,
    "~>": _tilde,
    "^": _caret,
}


@dataclass(frozen=True)
class _Group:
    """Comparators that must all hold (AND)."""

    comparators: tuple[_Comparator, ...]

    def allows(self, v: SemVer) -> bool:
        if v.prerelease and not any(c.version.prerelease for c in self.comparators):
            return False
        return all(c.allows(v) for c in self.comparators)


@dataclass(frozen=True)
class Constraint:
    """A parsed version constraint; `str()` gives back the text it was parsed from."""

    text: str
    groups: tuple[_Group, ...] = field(repr=False, compare=False)

    def allows(self, v: SemVer) -> bool:
        return any(group.allows(v) for group in self.groups)

    @property
    def is_exact(self) -> bool:
        """True for a single exact version such as `2.11.5` or `=1.16.11`."""
        if len(self.groups) != 1 or len(self.groups[0].comparators) != 1:
            return False
        only = self.groups[0].comparators[0]
        return only.op in ("", "=") and not only.dirty

    def highest(self, versions: Iterable[SemVer]) -> SemVer | None:
        """The newest of `versions` this constraint allows, as Flux resolves a chart pin."""
        allowed = [v for v in versions if self.allows(v)]
        return max(allowed) if allowed else None

    def __str__(self) -> str:
        return self.text


def _comparator(match: re.Match[str]) -> _Comparator:
    major, minor, patch = match["major"], match["minor"], match["patch"]
    major_wild = _is_wild(major)
    minor_wild = not major_wild and _is_wild(minor)
    patch_wild = not major_wild and not minor_wild and _is_wild(patch)
    parts = [0 if _is_wild(p) else int(p) for p in (major, minor, patch)]
    for wild, number in ((major_wild, minor), (major_wild or minor_wild, patch)):
        if wild and number is not None and not _is_wild(number):
            raise ValueError(f"`{match[0].strip()}` has a number after a wildcard")
    return _Comparator(
        op=match["op"] or "",
        version=SemVer(parts[0], parts[1], parts[2], match["pre"]),
        dirty=major_wild or minor_wild or patch_wild,
        major_wild=major_wild,
        minor_wild=minor_wild,
        patch_wild=patch_wild,
    )


def _group(text: str) -> _Group:
    text = _HYPHEN.sub(lambda m: f">={m['low']} <={m['high']}", text)
    comparators: list[_Comparator] = []
    pos = 0
    while True:
        while pos < len(text) and (text[pos].isspace() or text[pos] == ","):
            pos += 1
        if pos == len(text):
            break
        match = _COMPARATOR.match(text, pos)
        if not match:
            raise ValueError(f"cannot read `{text[pos:].strip()}`")
        comparators.append(_comparator(match))
        pos = match.end()
    if not comparators:
        raise ValueError("an empty alternative around `||`")
    return _Group(tuple(comparators))


def parse_constraint(text: str) -> Constraint:
    """Parse a chart or recipe version constraint (Masterminds/semver v3 syntax)."""
    if not text.strip():
        raise VersionError("empty version constraint", hint=_CONSTRAINT_HINT)
    body = text.strip()
    if len(body) >= 2 and body[0] == body[-1] and body[0] in "'\"":
        body = body[1:-1]  # a pin copied with its YAML quotes: `"1.16.11"`
    try:
        groups = tuple(_group(part) for part in body.split("||"))
    except ValueError as exc:
        raise VersionError(
            f"`{text}` is not a version constraint: {exc}", hint=_CONSTRAINT_HINT
        ) from None
    return Constraint(text, groups)


@dataclass(frozen=True, order=True)
class Version:
    """A release of a component: its edition and product version.

    Sorting is by edition, then version. Whether a hop goes forwards is decided by
    the product version alone (`newer_than`), so it works across editions.
    """

    edition: str
    semver: SemVer
    prefix: str = field(default="", compare=False, repr=False)

    @property
    def label(self) -> str:
        """As the vendor writes it: `stable-2.11.5`, `enterprise-2.16.5`."""
        return f"{self.prefix or self.edition}-{self.semver}"

    def newer_than(self, other: Version) -> bool:
        return self.semver.compare(other.semver) > 0

    def __str__(self) -> str:
        return self.label


def chronological(v: Version) -> tuple[SemVer, str]:
    """Sort key by product version first, for lists shown to people."""
    return (v.semver, v.edition)


class Catalog:
    """The known releases of a component, by edition, with the charts that ship them."""

    def __init__(self, component: Component) -> None:
        self.component = component
        self._prefixes = {e.name: e.prefix for e in component.editions}
        self._ranges = {e.name: parse_constraint(e.versions) for e in component.editions}
        self._known: dict[Version, Release] = {}
        # (chart, pin) -> releases_for_chart: a fleet asks with the same pin per instance
        self._for_chart: dict[tuple[str, str | None], list[Version]] = {}
        self.releases: list[Version] = []
        for index, entry in enumerate(component.releases):
            where = [Problem("", field_path=f"releases[{index}].version")]
            try:
                version = self.parse_release(entry.version)
            except VersionError as exc:
                raise VersionError(exc.message, hint=exc.hint, problems=where) from None
            if version in self._known:
                raise VersionError(
                    f"release `{entry.version}` is listed twice in component `{component.name}`",
                    hint="remove one of the two entries from `releases`",
                    problems=where,
                )
            self._known[version] = entry
        self.releases = sorted(self._known)

    @property
    def editions(self) -> list[str]:
        return list(self._prefixes)

    def version(self, edition: str, version: str) -> Version:
        """The release `version` of `edition` (known or not), with its label prefix."""
        if edition not in self._prefixes:
            raise VersionError(
                f"component `{self.component.name}` has no edition `{edition}`",
                hint=f"known editions: {', '.join(self._prefixes)}",
            )
        return Version(edition, parse_semver(version), self._prefixes[edition])

    def label(self, v: Version) -> str:
        return f"{self._prefixes.get(v.edition, v.edition)}-{v.semver}"

    def release(self, v: Version) -> Release | None:
        return self._known.get(v)

    def _known_list(self) -> str:
        return ", ".join(self.label(v) for v in sorted(self._known, key=chronological))

    def _split(self, text: str) -> tuple[str | None, str]:
        """`enterprise-2.16.5` -> ("enterprise", "2.16.5"); `2.16.5` -> (None, "2.16.5")."""
        text = text.strip()
        by_length = sorted(self._prefixes.items(), key=lambda item: -len(item[1]))
        for name, prefix in by_length:
            if text.startswith(f"{prefix}-"):
                return name, text[len(prefix) + 1 :]
        for name in self._prefixes:
            if text.startswith(f"{name}-"):
                return name, text[len(name) + 1 :]
        return None, text

    def _unknown(self, text: str, why: str) -> VersionError:
        return VersionError(
            f"`{text}` {why}",
            hint=f"known releases of {self.component.name}: {self._known_list()}",
        )

    def parse_release(self, text: str) -> Version:
        """`stable-2.11.5`, `enterprise-2.16.5`, or plain `2.11.5` (edition by its range)."""
        edition, rest = self._split(text)
        try:
            semver = parse_semver(rest)
        except VersionError:
            raise self._unknown(text, "is not a release") from None
        if edition is None:
            editions = [name for name, rng in self._ranges.items() if rng.allows(semver)]
            if len(editions) != 1:
                why = (
                    "matches no edition"
                    if not editions
                    else "matches editions " + ", ".join(editions)
                )
                raise self._unknown(text, f"{why}; name the edition, e.g. `{self._example()}`")
            edition = editions[0]
        return Version(edition, semver, self._prefixes[edition])

    def _example(self) -> str:
        return self.label(self.releases[-1]) if self.releases else "stable-2.11.5"

    def resolve_target(self, text: str) -> Version:
        """A known release: exact (`enterprise-2.16.5`) or newest of a line (`2.16`)."""
        edition, rest = self._split(text)
        parts = rest.strip().lstrip("v").split("-")[0].split("+")[0].split(".")
        if len(parts) >= 3:
            version = self.parse_release(text)
            if version not in self._known:
                raise self._unknown(text, "is not a known release")
            return version
        try:
            line = tuple(int(p) for p in parts)
        except ValueError:
            raise self._unknown(text, "is not a release or a release line") from None
        matches = [
            v
            for v in self.releases
            if (edition is None or v.edition == edition)
            and (v.semver.major, v.semver.minor)[: len(line)] == line
            and not v.semver.prerelease
        ]
        editions = sorted({v.edition for v in matches})
        if not matches:
            raise self._unknown(text, "matches no known release")
        if len(editions) > 1:
            raise self._unknown(
                text, f"matches releases of editions {', '.join(editions)}; name the edition"
            )
        return max(matches)

    def releases_for_chart(self, chart: str, pin: str | None) -> list[Version]:
        """Known releases shipping `chart` at a chart version `pin` admits (None/`*`: any)."""
        key = (chart, pin)
        if key not in self._for_chart:
            self._for_chart[key] = self._releases_for_chart(chart, pin)
        return list(self._for_chart[key])

    def _releases_for_chart(self, chart: str, pin: str | None) -> list[Version]:
        constraint = None if pin is None or pin.strip() == "*" else parse_constraint(pin)
        found = []
        for version, entry in self._known.items():
            chart_version = entry.charts.get(chart)
            if chart_version is None:
                continue
            if constraint is None or constraint.allows(parse_semver(chart_version)):
                found.append(version)
        return sorted(found)
