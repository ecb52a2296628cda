"""Graph health of one component: the checks `VersionGraph.check` stops at, all listed.

- `duplicate-hop`: two recipes leave the same release for the same target;
- `backwards`: a recipe's range admits its own target or newer releases;
- `cycle`: recipes lead back to where they started;
- `unreachable`: a release line no chain of recipes reaches from the oldest release;
- `range-gap`: a release no recipe leaves from (the newest line of an edition excepted:
  moving between patch releases of one line is a chart bump, not a recipe);
- `multiple-heads`: an edition with more than one release that recipes lead to and none
  leaves (like Alembic's multiple heads: the graph forks and never joins);
- `stale-target` (warning): a recipe leads to a release that is not the newest of its line.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.authoring.positions import Keys, locate
from engine.authoring.problems import LintProblem
from engine.errors import VersionError
from engine.recipe.graph import Edge, VersionGraph
from engine.recipe.loading import ComponentSource, RecipeSource
from engine.recipe.versions import Version, chronological, parse_constraint

Line = tuple[str, int, int]


def _line(v: Version) -> Line:
    return (v.edition, v.semver.major, v.semver.minor)


def _edges(component: ComponentSource, recipes: list[RecipeSource]) -> list[Edge]:
    edges = []
    for source in recipes:
        try:
            edges.append(
                Edge(
                    recipe=source.id,
                    source_edition=source.recipe.from_.edition,
                    source_range=parse_constraint(source.recipe.from_.versions),
                    target=component.catalog.version(
                        source.recipe.to.edition, source.recipe.to.version
                    ),
                    supported=source.recipe.supported,
                )
            )
        except VersionError:
            continue  # reported by the schema check
    return edges


def check_graph(component: ComponentSource, recipes: list[RecipeSource]) -> list[LintProblem]:
    catalog = component.catalog
    by_id = {s.id: s for s in recipes}
    releases = catalog.releases
    if not releases:
        return []
    graph = VersionGraph(releases, _edges(component, recipes))
    problems: list[LintProblem] = []

    def at_recipe(recipe: str, keys: Keys) -> Callable[[str, str], None]:
        def add(code: str, message: str) -> None:
            problems.append(LintProblem(locate(by_id[recipe].path, keys), code, message))

        return add

    def release_keys(v: Version) -> Keys:
        labels = [r.version for r in component.component.releases]
        return ("releases", labels.index(v.label), "version") if v.label in labels else ()

    def at_release(v: Version, code: str, message: str, severity: str = "error") -> None:
        where = locate(component.path, release_keys(v))
        problems.append(
            LintProblem(where, code, message, "warning" if severity != "error" else "error")
        )

    # duplicate hops and backwards edges, once per recipe (pair)
    pairs: dict[tuple[str, str], list[Version]] = {}
    backwards: dict[str, list[Version]] = {}
    for release in releases:
        seen: dict[Version, str] = {}
        for edge in graph.out_edges(release):
            if edge.target in seen:
                pairs.setdefault((seen[edge.target], edge.recipe), []).append(release)
            seen.setdefault(edge.target, edge.recipe)
            if not edge.target.newer_than(release):
                backwards.setdefault(edge.recipe, []).append(release)
    for (first, second), sources in pairs.items():
        target = next(e.target for e in graph.edges if e.recipe == second)
        at_recipe(second, ("from", "versions"))(
            "duplicate-hop",
            f"`{first}` and `{second}` both lead from {_span(sources)} to {target.label}; "
            "narrow the `from.versions` range of one of them, or delete one",
        )
    for recipe, sources in backwards.items():
        target = next(e.target for e in graph.edges if e.recipe == recipe)
        at_recipe(recipe, ("from", "versions"))(
            "backwards",
            f"the range admits {_span(sources)}, not older than the target {target.label}; "
            "a recipe must lead to a newer release",
        )
    for cycle in _cycles(graph):
        at_recipe(cycle[0], ("from", "versions"))(
            "cycle", "recipes form a cycle: " + " -> ".join(cycle)
        )

    oldest = min(releases, key=chronological)
    reached = {oldest, *graph.reachable(oldest, allow_unsupported=True)}
    lines: dict[Line, list[Version]] = {}
    for v in sorted(releases, key=chronological):
        lines.setdefault(_line(v), []).append(v)
    for line, members in lines.items():
        if not reached.intersection(members):
            at_release(
                members[0],
                "unreachable",
                f"no chain of recipes leads from {oldest.label} (the oldest release) to any "
                f"{members[0].prefix or line[0]}-{line[1]}.{line[2]} release; add a recipe to it",
            )

    newest_line = {
        edition: max(_line(v) for v in releases if v.edition == edition)
        for edition in {v.edition for v in releases}
    }
    for v in releases:
        if _line(v) != newest_line[v.edition] and not graph.out_edges(v):
            at_release(
                v,
                "range-gap",
                f"no recipe leaves from {v.label}; widen the `from.versions` range of the "
                "recipe for its line, or add one",
            )

    targets = {e.target for e in graph.edges}
    for edition in sorted({v.edition for v in releases}):
        heads = sorted(
            (t for t in targets if t.edition == edition and not graph.out_edges(t)),
            key=chronological,
        )
        if len(heads) > 1:
            at_release(
                heads[-1],
                "multiple-heads",
                f"edition {edition} has {len(heads)} newest releases that recipes lead to and "
                f"none leaves: {', '.join(h.label for h in heads)}; add a recipe from "
                f"{heads[0].label} onwards",
            )

    for edge in graph.edges:
        line_members = lines.get(_line(edge.target), [])
        if line_members and line_members[-1] != edge.target:
            newest = line_members[-1]
            problems.append(
                LintProblem(
                    locate(by_id[edge.recipe].path, ("to", "version")),
                    "stale-target",
                    f"leads to {edge.target.label}, but {newest.label} is the newest known "
                    "release of that line",
                    "warning",
                )
            )
    return problems


def _span(versions: list[Version]) -> str:
    if len(versions) == 1:
        return versions[0].label
    return f"{versions[0].label} .. {versions[-1].label} ({len(versions)} releases)"


def _cycles(graph: VersionGraph) -> list[list[str]]:
    found: dict[frozenset[str], list[str]] = {}
    for start in graph.releases:
        stack: list[tuple[Version, list[str], set[Version]]] = [(start, [], {start})]
        while stack:
            node, trail, seen = stack.pop()
            for edge in graph.out_edges(node):
                if edge.target == start and trail:  # a one-recipe loop is `backwards`
                    cycle = [*trail, edge.recipe]
                    found.setdefault(frozenset(cycle), cycle)
                elif edge.target not in seen and len(trail) < 16:
                    stack.append((edge.target, [*trail, edge.recipe], seen | {edge.target}))
    return list(found.values())
