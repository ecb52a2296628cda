from __future__ import annotations

import pytest

from engine.recipe.graph import (
    BackwardsEdgeError,
    CycleError,
    DuplicateHopError,
    Edge,
    NoPathError,
    UnknownTargetError,
    VersionGraph,
)
from engine.recipe.versions import Version, parse_constraint, parse_semver


def v(label: str) -> Version:
    """`oss-2.11.5` -> Version("oss", 2.11.5)."""
    edition, version = label.split("-", 1)
    return Version(edition, parse_semver(version))


def graph(
    releases: str, edges: list[tuple[str, str, str, str] | tuple[str, str, str, str, bool]]
) -> VersionGraph:
    """Releases as one space-separated string; edges as (recipe, edition, range, target[, supported])."""
    return VersionGraph(
        [v(r) for r in releases.split()],
        [
            Edge(e[0], e[1], parse_constraint(e[2]), v(e[3]), e[4] if len(e) == 5 else True)
            for e in edges
        ],
    )


def ids(edges: list[Edge]) -> list[str]:
    return [e.recipe for e in edges]


LINE = "oss-1.0.0 oss-1.1.0 oss-1.2.0 oss-1.3.0"


def test_fewest_hops() -> None:
    g = graph(
        LINE,
        [
            ("a", "oss", "1.0.x", "oss-1.1.0"),
            ("b", "oss", "1.1.x", "oss-1.2.0"),
            ("c", "oss", "1.2.x", "oss-1.3.0"),
            ("skip", "oss", "1.0.x", "oss-1.2.0"),
        ],
    )
    g.check()
    assert ids(g.path(v("oss-1.0.0"), v("oss-1.3.0"))) == ["skip", "c"]
    assert ids(g.path(v("oss-1.1.0"), v("oss-1.3.0"))) == ["b", "c"]
    assert g.path(v("oss-1.2.0"), v("oss-1.2.0")) == []


def test_edge_applies_from_every_release_its_range_allows() -> None:
    g = graph(
        "oss-1.0.0 oss-1.0.5 oss-1.1.0",
        [("a", "oss", ">=1.0.0 <1.1.0", "oss-1.1.0")],
    )
    assert ids(g.path(v("oss-1.0.5"), v("oss-1.1.0"))) == ["a"]
    # a start release missing from the catalog still takes the edges its range allows
    assert ids(g.path(v("oss-1.0.3"), v("oss-1.1.0"))) == ["a"]


def test_ties_take_the_smallest_recipe_ids() -> None:
    g = graph(
        LINE,
        [
            ("z-up", "oss", "1.0.x", "oss-1.1.0"),
            ("y-up", "oss", "1.1.x", "oss-1.3.0"),
            ("b-side", "oss", "1.0.x", "oss-1.2.0"),
            ("x-up", "oss", "1.2.x", "oss-1.3.0"),
        ],
    )
    assert ids(g.path(v("oss-1.0.0"), v("oss-1.3.0"))) == ["b-side", "x-up"]
    assert g.explain(v("oss-1.0.0"), v("oss-1.3.0")) == [
        "path oss-1.0.0 -> oss-1.2.0 -> oss-1.3.0: 2 hops (b-side, x-up)",
        "2 paths of 2 hops lead from oss-1.0.0 to oss-1.3.0; chose b-side, x-up "
        "(recipe ids first in alphabetical order); pass --via <release> to choose another",
    ]


def test_via_forces_the_release_in_order() -> None:
    g = graph(
        LINE,
        [
            ("a", "oss", "1.0.x", "oss-1.1.0"),
            ("b", "oss", "1.1.x", "oss-1.2.0"),
            ("c", "oss", "1.2.x", "oss-1.3.0"),
            ("skip", "oss", "1.0.x", "oss-1.2.0"),
        ],
    )
    assert ids(g.path(v("oss-1.0.0"), v("oss-1.3.0"), via=[v("oss-1.1.0")])) == ["a", "b", "c"]
    assert ids(g.path(v("oss-1.0.0"), v("oss-1.3.0"), via=[v("oss-1.0.0")])) == ["skip", "c"]
    assert g.explain(v("oss-1.0.0"), v("oss-1.3.0"), via=[v("oss-1.1.0")]) == [
        "path oss-1.0.0 -> oss-1.1.0 -> oss-1.2.0 -> oss-1.3.0: 3 hops (a, b, c)",
        "passes through oss-1.1.0 as asked (--via)",
    ]
    with pytest.raises(NoPathError) as exc:
        g.path(v("oss-1.0.0"), v("oss-1.3.0"), via=[v("oss-1.2.0"), v("oss-1.1.0")])
    assert exc.value.downgrade
    assert (exc.value.start, exc.value.target) == (v("oss-1.2.0"), v("oss-1.1.0"))


BEL = "oss-2.14.10 enterprise-2.15.7 enterprise-2.16.5"
BEL_EDGES: list[tuple[str, str, str, str] | tuple[str, str, str, str, bool]] = [
    ("stable-2.14-to-enterprise-2.15", "oss", "2.14.x", "enterprise-2.15.7"),
    ("enterprise-2.15-to-2.16", "enterprise", "2.15.x", "enterprise-2.16.5"),
    ("stable-2.14-to-enterprise-2.16", "oss", "2.14.x", "enterprise-2.16.5", False),
]


def test_unsupported_skip_edge_only_when_allowed() -> None:
    g = graph(BEL, BEL_EDGES)
    g.check()
    start, target = v("oss-2.14.10"), v("enterprise-2.16.5")
    assert ids(g.path(start, target)) == [
        "stable-2.14-to-enterprise-2.15",
        "enterprise-2.15-to-2.16",
    ]
    assert ids(g.path(start, target, allow_unsupported=True)) == ["stable-2.14-to-enterprise-2.16"]
    assert g.explain(start, target) == [
        "path oss-2.14.10 -> enterprise-2.15.7 -> enterprise-2.16.5: 2 hops "
        "(stable-2.14-to-enterprise-2.15, enterprise-2.15-to-2.16)",
        "skip edge stable-2.14-to-enterprise-2.16 (not officially supported) would take "
        "1 hop instead of 2; pass --allow-unsupported to use it",
    ]
    assert g.explain(start, target, allow_unsupported=True) == [
        "path oss-2.14.10 -> enterprise-2.16.5: 1 hop (stable-2.14-to-enterprise-2.16)",
        "edge stable-2.14-to-enterprise-2.16 is not officially supported by the vendor",
    ]


def test_only_an_unsupported_path_exists() -> None:
    g = graph(BEL, [BEL_EDGES[2]])
    start, target = v("oss-2.14.10"), v("enterprise-2.16.5")
    with pytest.raises(NoPathError) as exc:
        g.path(start, target)
    assert exc.value.reachable == []
    assert exc.value.unsupported_path == ("stable-2.14-to-enterprise-2.16",)
    assert exc.value.hint == (
        "pass --allow-unsupported to use stable-2.14-to-enterprise-2.16 (not officially "
        "supported); pass --via <release> to go through a release you name; "
        "or add a recipe leading to enterprise-2.16.5"
    )
    assert g.explain(start, target) == [
        "no recipe path from oss-2.14.10 to enterprise-2.16.5; reachable from oss-2.14.10: nothing",
        "a path through stable-2.14-to-enterprise-2.16 (not officially supported) exists; "
        "pass --allow-unsupported to use it",
    ]


def test_no_path_lists_reachable_releases() -> None:
    g = graph(
        "oss-1.0.0 oss-1.1.0 oss-1.2.0 ent-2.0.0",
        [
            ("a", "oss", "1.0.x", "oss-1.1.0"),
            ("b", "oss", "1.1.x", "oss-1.2.0"),
        ],
    )
    with pytest.raises(NoPathError) as exc:
        g.path(v("oss-1.0.0"), v("ent-2.0.0"))
    err = exc.value
    assert (err.start, err.target, err.downgrade) == (v("oss-1.0.0"), v("ent-2.0.0"), False)
    assert err.reachable == [v("oss-1.1.0"), v("oss-1.2.0")]
    assert err.message == (
        "no recipe path from oss-1.0.0 to ent-2.0.0; reachable from oss-1.0.0: oss-1.1.0, oss-1.2.0"
    )
    assert err.hint == (
        "pass --via <release> to go through a release you name; "
        "or add a recipe leading to ent-2.0.0"
    )


def test_downgrade_is_refused() -> None:
    g = graph(LINE, [("a", "oss", "1.0.x", "oss-1.1.0")])
    with pytest.raises(NoPathError) as exc:
        g.path(v("oss-1.1.0"), v("oss-1.0.0"))
    assert exc.value.downgrade
    assert exc.value.message == "oss-1.0.0 is older than oss-1.1.0: downgrades are not supported"


def test_cycle() -> None:
    g = graph(
        "oss-1.0.0 ent-1.0.0",
        [
            ("to-ent", "oss", "1.0.x", "ent-1.0.0"),
            ("to-oss", "ent", "1.0.x", "oss-1.0.0"),
        ],
    )
    with pytest.raises(CycleError) as exc:
        g.check()
    assert exc.value.cycle == ("to-oss", "to-ent")
    assert exc.value.message == "recipes form a cycle: to-oss -> to-ent"


def test_duplicate_hop() -> None:
    g = graph(
        LINE,
        [
            ("one", "oss", "1.0.x", "oss-1.1.0"),
            ("two", "oss", ">=1.0.0 <1.1.0", "oss-1.1.0"),
        ],
    )
    with pytest.raises(DuplicateHopError) as exc:
        g.check()
    assert exc.value.recipes == ("one", "two")
    assert (exc.value.release, exc.value.target) == (v("oss-1.0.0"), v("oss-1.1.0"))


def test_unknown_target() -> None:
    g = graph(LINE, [("a", "oss", "1.0.x", "oss-1.9.0")])
    with pytest.raises(UnknownTargetError) as exc:
        g.check()
    assert (exc.value.recipe, exc.value.target) == ("a", v("oss-1.9.0"))


def test_backwards_edge() -> None:
    g = graph(LINE, [("back", "oss", "1.x", "oss-1.2.0")])
    with pytest.raises(BackwardsEdgeError) as exc:
        g.check()
    assert (exc.value.recipe, exc.value.source, exc.value.target) == (
        "back",
        v("oss-1.2.0"),
        v("oss-1.2.0"),
    )


def test_text_and_mermaid() -> None:
    g = graph(
        BEL + " oss-2.13.7 oss-2.13.0",
        [
            *BEL_EDGES,
            ("idle", "enterprise", "3.x", "enterprise-2.16.5"),
            ("oss-2.13-to-2.14", "oss", "2.13.x", "oss-2.14.10"),
        ],
    )
    assert g.to_text() == (
        "releases:\n"
        "  oss: oss-2.13.0, oss-2.13.7, oss-2.14.10\n"
        "  enterprise: enterprise-2.15.7, enterprise-2.16.5\n"
        "hops:\n"
        "  oss-2.13.0 .. oss-2.13.7 (2 releases) -> oss-2.14.10  (oss-2.13-to-2.14)\n"
        "  oss-2.14.10 -> enterprise-2.15.7  (stable-2.14-to-enterprise-2.15)\n"
        "  oss-2.14.10 -> enterprise-2.16.5  (stable-2.14-to-enterprise-2.16, unsupported)\n"
        "  enterprise-2.15.7 -> enterprise-2.16.5  (enterprise-2.15-to-2.16)\n"
        "recipes that apply from no known release: idle\n"
    )
    assert g.to_mermaid() == (
        "flowchart LR\n"
        "  subgraph edition_oss [oss]\n"
        '    oss_2_13_0["oss-2.13.0"]\n'
        '    oss_2_13_7["oss-2.13.7"]\n'
        '    oss_2_14_10["oss-2.14.10"]\n'
        "  end\n"
        "  subgraph edition_enterprise [enterprise]\n"
        '    enterprise_2_15_7["enterprise-2.15.7"]\n'
        '    enterprise_2_16_5["enterprise-2.16.5"]\n'
        "  end\n"
        '  oss_2_13_0 -->|"oss-2.13-to-2.14"| oss_2_14_10\n'
        '  oss_2_13_7 -->|"oss-2.13-to-2.14"| oss_2_14_10\n'
        '  oss_2_14_10 -->|"stable-2.14-to-enterprise-2.15"| enterprise_2_15_7\n'
        '  oss_2_14_10 -.->|"stable-2.14-to-enterprise-2.16"| enterprise_2_16_5\n'
        '  enterprise_2_15_7 -->|"enterprise-2.15-to-2.16"| enterprise_2_16_5\n'
    )
