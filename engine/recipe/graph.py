"""The version graph: releases are nodes, recipes are edges. Pure: no filesystem.

A recipe applies from every release of its `from` edition that its `from` range allows,
to its one `to` release. A path is the fewest hops from the installed release to the
target; among equally short paths we take the one whose recipe ids, in order, sort first,
so the same recipes always give the same path. Edges the vendor does not support (a skip
from 2.14 straight to 2.16) are used only when asked for.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from engine.errors import PathError
from engine.recipe.versions import Constraint, Version, chronological


@dataclass(frozen=True)
class Edge:
    """One recipe as an edge of the graph."""

    recipe: str
    source_edition: str
    source_range: Constraint
    target: Version
    supported: bool = True

    def applies_from(self, v: Version) -> bool:
        return v.edition == self.source_edition and self.source_range.allows(v.semver)


# --------------------------------------------------------------------------- errors


def _labels(versions: Iterable[Version]) -> str:
    return ", ".join(v.label for v in versions) or "nothing"


def _hops(n: int) -> str:
    return f"{n} hop" if n == 1 else f"{n} hops"


class CycleError(PathError):
    """Recipes lead from a release back to itself."""

    def __init__(self, cycle: Sequence[str]) -> None:
        self.cycle = tuple(cycle)
        super().__init__(
            f"recipes form a cycle: {' -> '.join(self.cycle)}",
            hint="a recipe must lead to a newer release; fix the `from`/`to` of one of them",
        )


class DuplicateHopError(PathError):
    """Two recipes claim the same hop, so the path would depend on load order."""

    def __init__(self, recipes: tuple[str, str], release: Version, target: Version) -> None:
        self.recipes = recipes
        self.release = release
        self.target = target
        super().__init__(
            f"recipes `{recipes[0]}` and `{recipes[1]}` both lead from {release.label} "
            f"to {target.label}",
            hint="narrow the `from.versions` range of one of them, or delete one",
        )


class UnknownTargetError(PathError):
    """A recipe leads to a release the component's catalog does not list."""

    def __init__(self, recipe: str, target: Version) -> None:
        self.recipe = recipe
        self.target = target
        super().__init__(
            f"recipe `{recipe}` leads to {target.label}, which is not a known release",
            hint="add the release to `releases` in component.yaml, or fix the recipe's `to`",
        )


class BackwardsEdgeError(PathError):
    """A recipe leads from a release to an older or equal one."""

    def __init__(self, recipe: str, source: Version, target: Version) -> None:
        self.recipe = recipe
        self.source = source
        self.target = target
        super().__init__(
            f"recipe `{recipe}` leads backwards, from {source.label} to {target.label}",
            hint="narrow its `from.versions` range to releases older than its `to.version`",
        )


class NoPathError(PathError):
    """No chain of recipes leads from `start` to `target`."""

    def __init__(
        self,
        start: Version,
        target: Version,
        reachable: Sequence[Version],
        *,
        downgrade: bool = False,
        unsupported_path: Sequence[str] = (),
    ) -> None:
        self.start = start
        self.target = target
        self.reachable = list(reachable)
        self.downgrade = downgrade
        self.unsupported_path = tuple(unsupported_path)
        if downgrade:
            message = f"{target.label} is older than {start.label}: downgrades are not supported"
            hint = "pick a target newer than the installed release"
        else:
            message = (
                f"no recipe path from {start.label} to {target.label}; "
                f"reachable from {start.label}: {_labels(self.reachable)}"
            )
            hints = []
            if self.unsupported_path:
                hints.append(
                    "pass --allow-unsupported to use "
                    + ", ".join(self.unsupported_path)
                    + " (not officially supported)"
                )
            hints.append("pass --via <release> to go through a release you name")
            hints.append(f"or add a recipe leading to {target.label}")
            hint = "; ".join(hints)
        super().__init__(message, hint=hint)


# --------------------------------------------------------------------------- graph


class VersionGraph:
    def __init__(self, releases: Sequence[Version], edges: Sequence[Edge]) -> None:
        self.releases: list[Version] = sorted(set(releases))
        self.edges: list[Edge] = sorted(edges, key=lambda e: e.recipe)
        self._known = {v: v for v in self.releases}
        self._out: dict[Version, list[Edge]] = {}

    def out_edges(self, v: Version, *, allow_unsupported: bool = True) -> list[Edge]:
        """Edges leaving `v`, by recipe id."""
        if v not in self._out:
            self._out[v] = [e for e in self.edges if e.applies_from(v)]
        return [e for e in self._out[v] if allow_unsupported or e.supported]

    def _node(self, v: Version) -> Version:
        return self._known.get(v, v)

    # ----------------------------------------------------------------------- check

    def check(self) -> None:
        """Raise on an unknown target, a duplicate hop, a cycle or a backwards edge."""
        for edge in self.edges:
            if edge.target not in self._known:
                raise UnknownTargetError(edge.recipe, edge.target)
        for release in self.releases:
            seen: dict[Version, str] = {}
            for edge in self.out_edges(release):
                if edge.target in seen:
                    raise DuplicateHopError((seen[edge.target], edge.recipe), release, edge.target)
                seen[edge.target] = edge.recipe
        # A range that includes the recipe's own target is a mistake in one recipe: say
        # so, rather than call it a cycle. Longer cycles are reported as cycles.
        self._check_backwards(lambda source, edge: edge.target == source)
        self._check_cycles()
        self._check_backwards(lambda source, edge: not edge.target.newer_than(source))

    def _check_backwards(self, wrong: Callable[[Version, Edge], bool]) -> None:
        for release in self.releases:
            for edge in self.out_edges(release):
                if wrong(release, edge):
                    raise BackwardsEdgeError(edge.recipe, release, self._node(edge.target))

    def _check_cycles(self) -> None:
        done: set[Version] = set()
        on_stack: dict[Version, int] = {}
        trail: list[Edge] = []

        def visit(v: Version) -> None:
            on_stack[v] = len(trail)
            for edge in self.out_edges(v):
                if edge.target in on_stack:
                    cycle = [*trail[on_stack[edge.target] :], edge]
                    raise CycleError([e.recipe for e in cycle])
                if edge.target not in done:
                    trail.append(edge)
                    visit(edge.target)
                    trail.pop()
            del on_stack[v]
            done.add(v)

        for release in self.releases:
            if release not in done:
                visit(release)

    # ----------------------------------------------------------------------- paths

    def reachable(self, start: Version, *, allow_unsupported: bool = False) -> list[Version]:
        """Releases some chain of recipes leads to from `start`, sorted."""
        return sorted(set(self._distances(start, allow_unsupported)) - {start})

    def _distances(self, start: Version, allow_unsupported: bool) -> dict[Version, int]:
        dist = {start: 0}
        queue = deque([start])
        while queue:
            v = queue.popleft()
            for edge in self.out_edges(v, allow_unsupported=allow_unsupported):
                target = self._node(edge.target)
                if target not in dist:
                    dist[target] = dist[v] + 1
                    queue.append(target)
        return dist

    def _to_target(self, start: Version, target: Version, allow: bool) -> dict[Version, int]:
        """Hops left to `target` from every node reachable from `start` that leads there."""
        nodes = self._distances(start, allow)
        incoming: dict[Version, list[Version]] = {v: [] for v in nodes}
        for v in nodes:
            for edge in self.out_edges(v, allow_unsupported=allow):
                incoming[self._node(edge.target)].append(v)
        left = {target: 0} if target in nodes else {}
        queue = deque(left)
        while queue:
            v = queue.popleft()
            for source in incoming[v]:
                if source not in left:
                    left[source] = left[v] + 1
                    queue.append(source)
        return left

    def _shortest(self, start: Version, target: Version, allow: bool) -> list[Edge] | None:
        if start == target:
            return []
        left = self._to_target(start, target, allow)
        if start not in left:
            return None
        hops: list[Edge] = []
        node = start
        while node != target:
            # out_edges is sorted by recipe id, so the first edge on a shortest path is
            # the lexicographically smallest choice at this step.
            edge = next(
                e
                for e in self.out_edges(node, allow_unsupported=allow)
                if left.get(e.target) == left[node] - 1
            )
            hops.append(edge)
            node = self._node(edge.target)
        return hops

    def _count_shortest(self, start: Version, target: Version, allow: bool) -> int:
        left = self._to_target(start, target, allow)
        ways: dict[Version, int] = {target: 1}
        for v in sorted(left, key=lambda n: left[n]):
            if v != target:
                ways[v] = sum(
                    ways[self._node(e.target)]
                    for e in self.out_edges(v, allow_unsupported=allow)
                    if left.get(e.target) == left[v] - 1
                )
        return ways.get(start, 0)

    def _leg(self, start: Version, target: Version, allow: bool) -> list[Edge]:
        if target.semver.compare(start.semver) < 0:
            raise NoPathError(start, target, self.reachable(start), downgrade=True)
        hops = self._shortest(start, target, allow)
        if hops is None:
            unsupported: list[str] = []
            if not allow:
                other = self._shortest(start, target, True) or []
                unsupported = [e.recipe for e in other if not e.supported]
            raise NoPathError(
                start,
                target,
                self.reachable(start, allow_unsupported=allow),
                unsupported_path=unsupported,
            )
        return hops

    def path(
        self,
        start: Version,
        target: Version,
        *,
        via: Sequence[Version] = (),
        allow_unsupported: bool = False,
    ) -> list[Edge]:
        """The fewest hops from `start` to `target`, through each of `via` in order."""
        stops = [self._node(v) for v in (start, *via, target)]
        hops: list[Edge] = []
        for a, b in pairwise(stops):
            hops.extend(self._leg(a, b, allow_unsupported))
        return hops

    def explain(
        self,
        start: Version,
        target: Version,
        *,
        via: Sequence[Version] = (),
        allow_unsupported: bool = False,
    ) -> list[str]:
        """Why this path: ties broken, unsupported edges used or skipped, --via."""
        start, target = self._node(start), self._node(target)
        try:
            chosen = self.path(start, target, via=via, allow_unsupported=allow_unsupported)
        except NoPathError as exc:
            lines = [exc.message]
            if exc.unsupported_path:
                lines.append(
                    f"a path through {', '.join(exc.unsupported_path)} (not officially "
                    "supported) exists; pass --allow-unsupported to use it"
                )
            return lines
        if not chosen:
            return [f"already at {target.label}"]
        steps = " -> ".join([start.label, *(self._node(e.target).label for e in chosen)])
        lines = [f"path {steps}: {_hops(len(chosen))} ({', '.join(e.recipe for e in chosen)})"]
        if via:
            lines.append(f"passes through {_labels(self._node(v) for v in via)} as asked (--via)")
        stops = [start, *(self._node(v) for v in via), target]
        for a, b in pairwise(stops):
            ways = self._count_shortest(a, b, allow_unsupported)
            if ways > 1:
                leg = self._shortest(a, b, allow_unsupported) or []
                lines.append(
                    f"{ways} paths of {_hops(len(leg))} lead from {a.label} to {b.label}; "
                    f"chose {', '.join(e.recipe for e in leg)} (recipe ids first in "
                    "alphabetical order); pass --via <release> to choose another"
                )
        for edge in chosen:
            if not edge.supported:
                lines.append(f"edge {edge.recipe} is not officially supported by the vendor")
        if not allow_unsupported:
            try:
                other = self.path(start, target, via=via, allow_unsupported=True)
            except NoPathError:
                other = chosen
            if len(other) < len(chosen):
                skips = ", ".join(e.recipe for e in other if not e.supported)
                lines.append(
                    f"skip edge {skips} (not officially supported) would take "
                    f"{_hops(len(other))} instead of {len(chosen)}; "
                    "pass --allow-unsupported to use it"
                )
        return lines

    # ----------------------------------------------------------------------- rendering

    def _hop_list(self) -> list[tuple[Version, Edge]]:
        hops = [(v, e) for v in self.releases for e in self.out_edges(v)]
        return sorted(hops, key=lambda h: (chronological(h[0]), h[1].recipe))

    def _editions(self) -> list[tuple[str, list[Version]]]:
        by_edition: dict[str, list[Version]] = {}
        for v in sorted(self.releases, key=chronological):
            by_edition.setdefault(v.edition, []).append(v)
        return list(by_edition.items())

    def to_text(self) -> str:
        lines = ["releases:"]
        lines += [f"  {name}: {_labels(vs)}" for name, vs in self._editions()]
        lines.append("hops:")
        sources: dict[Edge, list[Version]] = {}
        for source, edge in self._hop_list():
            sources.setdefault(edge, []).append(source)
        for edge, froms in sorted(
            sources.items(), key=lambda i: (chronological(i[1][0]), i[0].recipe)
        ):
            flag = ", unsupported" if not edge.supported else ""
            start = froms[0].label
            if len(froms) > 1:
                start = f"{start} .. {froms[-1].label} ({len(froms)} releases)"
            target = self._node(edge.target)
            lines.append(f"  {start} -> {target.label}  ({edge.recipe}{flag})")
        idle = sorted(
            e.recipe for e in self.edges if not any(e.applies_from(v) for v in self.releases)
        )
        if idle:
            lines.append(f"recipes that apply from no known release: {', '.join(idle)}")
        return "\n".join(lines) + "\n"

    def to_mermaid(self) -> str:
        lines = ["flowchart LR"]
        for name, versions in self._editions():
            lines.append(f"  subgraph edition_{_node_id(name)} [{name}]")
            lines += [f'    {_node_id(v)}["{v.label}"]' for v in versions]
            lines.append("  end")
        for source, edge in self._hop_list():
            arrow = "-->" if edge.supported else "-.->"
            lines.append(f'  {_node_id(source)} {arrow}|"{edge.recipe}"| {_node_id(edge.target)}')
        return "\n".join(lines) + "\n"


def _node_id(v: Version | str) -> str:
    text = v if isinstance(v, str) else f"{v.edition}_{v.semver}"
    return re.sub(r"[^A-Za-z0-9_]", "_", text)
