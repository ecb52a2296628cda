from __future__ import annotations

import pytest

from engine.errors import VersionError
from engine.recipe.models import Component
from engine.recipe.versions import Catalog, Version, parse_constraint, parse_semver


def allowed(constraint: str, *versions: str) -> list[str]:
    c = parse_constraint(constraint)
    return [v for v in versions if c.allows(parse_semver(v))]


CANDIDATES = ("1.9.0", "1.9.9", "1.10.0", "2.0.0", "2.11.0", "2.11.5", "2.12.0", "3.0.0")


@pytest.mark.parametrize(
    ("constraint", "expected"),
    [
        ("2.11.5", ["2.11.5"]),
        ('"2.11.5"', ["2.11.5"]),
        ("=2.11.5", ["2.11.5"]),
        ("v2.11.5", ["2.11.5"]),
        ("2.x", ["2.0.0", "2.11.0", "2.11.5", "2.12.0"]),
        ("2.11.*", ["2.11.0", "2.11.5"]),
        ("2.11", ["2.11.0", "2.11.5"]),
        ("*", list(CANDIDATES)),
        ("x", list(CANDIDATES)),
        ("^2.11.0", ["2.11.0", "2.11.5", "2.12.0"]),
        ("^1.9", ["1.9.0", "1.9.9", "1.10.0"]),
        ("~1.9", ["1.9.0", "1.9.9"]),
        ("~1.9.5", ["1.9.9"]),
        ("~2", ["2.0.0", "2.11.0", "2.11.5", "2.12.0"]),
        (">=1.9.0 <1.10", ["1.9.0", "1.9.9"]),
        (">=1.9.0, <1.10", ["1.9.0", "1.9.9"]),
        (">= 1.9.0, < 1.10", ["1.9.0", "1.9.9"]),
        (">1.9", ["1.10.0", "2.0.0", "2.11.0", "2.11.5", "2.12.0", "3.0.0"]),
        (">1.9.0", ["1.9.9", "1.10.0", "2.0.0", "2.11.0", "2.11.5", "2.12.0", "3.0.0"]),
        ("<=2.11", ["1.9.0", "1.9.9", "1.10.0", "2.0.0", "2.11.0", "2.11.5"]),
        ("<2.11", ["1.9.0", "1.9.9", "1.10.0", "2.0.0"]),
        ("!=2.11.5", ["1.9.0", "1.9.9", "1.10.0", "2.0.0", "2.11.0", "2.12.0", "3.0.0"]),
        ("!=2.x", ["1.9.0", "1.9.9", "1.10.0", "3.0.0"]),
        ("1.9.0 || 2.11.x", ["1.9.0", "2.11.0", "2.11.5"]),
        ("1.9 - 2.0.0", ["1.9.0", "1.9.9", "1.10.0", "2.0.0"]),
        ("1.10 - 2.11", ["1.10.0", "2.0.0", "2.11.0", "2.11.5"]),
    ],
)
def test_constraint_forms(constraint: str, expected: list[str]) -> None:
    assert allowed(constraint, *CANDIDATES) == expected


def test_prerelease_only_when_constraint_names_one() -> None:
    versions = ("1.18.9", "1.18.10-edge", "1.18.10", "2024.8.2")
    assert allowed("*", *versions) == ["1.18.9", "1.18.10", "2024.8.2"]
    assert allowed(">=1.18.0", *versions) == ["1.18.9", "1.18.10", "2024.8.2"]
    assert allowed("1.18.10-edge", *versions) == ["1.18.10-edge"]
    assert allowed(">=1.18.10-edge <1.19", *versions) == ["1.18.10-edge", "1.18.10"]
    assert allowed(">=1.18.10-0 || 3.x", *versions) == ["1.18.10-edge", "1.18.10", "2024.8.2"]
    # the other alternative does not let the pre-release in
    assert allowed("1.18.10-edge || >=1.18.0", "1.18.11-edge") == []


def test_is_exact_and_str() -> None:
    assert parse_constraint("1.16.11").is_exact
    assert parse_constraint("=1.16.11").is_exact
    assert not parse_constraint("1.16").is_exact
    assert not parse_constraint("^1.16.11").is_exact
    assert not parse_constraint("1.16.11 || 1.16.12").is_exact
    assert str(parse_constraint(">=1.9.0 <1.10")) == ">=1.9.0 <1.10"


def test_highest_is_what_flux_would_pick() -> None:
    pin = parse_constraint("~1.16")
    assert pin.highest(parse_semver(v) for v in ("1.16.2", "1.16.11", "1.17.0")) == parse_semver(
        "1.16.11"
    )
    assert pin.highest([]) is None


@pytest.mark.parametrize("bad", ["", "  ", "2.11.5.1", ">>2", "latest", "2.x.5", "1.0 ||"])
def test_bad_constraint(bad: str) -> None:
    with pytest.raises(VersionError) as exc:
        parse_constraint(bad)
    assert exc.value.hint is not None
    assert "`2.x`" in exc.value.hint


def test_parse_semver() -> None:
    assert str(parse_semver("v2.11.5")) == "2.11.5"
    assert str(parse_semver("2.11")) == "2.11.0"
    assert str(parse_semver("2")) == "2.0.0"
    assert str(parse_semver("1.18.10-edge")) == "1.18.10-edge"
    with pytest.raises(VersionError) as exc:
        parse_semver("stable-2.11.5")
    assert exc.value.message == "`stable-2.11.5` is not a version"


# --------------------------------------------------------------------------- catalog

LINKERD = Component.model_validate(
    {
        "apiVersion": "waypath.dev/v1",
        "kind": "Component",
        "name": "linkerd",
        "editions": [
            {"name": "oss", "prefix": "stable", "versions": "<2.15.0"},
            {"name": "enterprise", "prefix": "enterprise", "versions": ">=2.15.0"},
        ],
        "releases": [
            {"version": "stable-2.11.5", "charts": {"linkerd2": "2.11.5"}},
            {"version": "stable-2.12.6", "charts": {"linkerd-control-plane": "1.9.8"}},
            {"version": "stable-2.14.9", "charts": {"linkerd-control-plane": "1.16.10"}},
            {"version": "stable-2.14.10", "charts": {"linkerd-control-plane": "1.16.11"}},
            {
                "version": "enterprise-2.16.1",
                "charts": {"linkerd-enterprise-control-plane": "2.16.1"},
            },
            {
                "version": "enterprise-2.16.5",
                "charts": {"linkerd-enterprise-control-plane": "2.16.5"},
            },
            {
                "version": "enterprise-2.17.0-rc1",
                "charts": {"linkerd-enterprise-control-plane": "2.17.0-rc1"},
            },
        ],
        "detectors": [{"name": "core", "charts": ["linkerd2", "linkerd-control-plane"]}],
    }
)


def labels(versions: list[Version]) -> list[str]:
    return [v.label for v in versions]


def test_catalog_releases_sorted_by_edition_then_version() -> None:
    assert labels(Catalog(LINKERD).releases) == [
        "enterprise-2.16.1",
        "enterprise-2.16.5",
        "enterprise-2.17.0-rc1",
        "stable-2.11.5",
        "stable-2.12.6",
        "stable-2.14.9",
        "stable-2.14.10",
    ]


@pytest.mark.parametrize(
    ("text", "edition", "version"),
    [
        ("stable-2.11.5", "oss", "2.11.5"),
        ("enterprise-2.16.5", "enterprise", "2.16.5"),
        ("2.11.5", "oss", "2.11.5"),
        ("2.16.5", "enterprise", "2.16.5"),
        ("oss-2.13.7", "oss", "2.13.7"),  # not in the catalog, still parses
        ("v2.18.0", "enterprise", "2.18.0"),
    ],
)
def test_parse_release(text: str, edition: str, version: str) -> None:
    v = Catalog(LINKERD).parse_release(text)
    assert (v.edition, str(v.semver)) == (edition, version)


def test_parse_release_errors_list_known_releases() -> None:
    with pytest.raises(VersionError) as exc:
        Catalog(LINKERD).parse_release("edge-24.8.2")
    assert exc.value.message == "`edge-24.8.2` is not a release"
    assert exc.value.hint == (
        "known releases of linkerd: stable-2.11.5, stable-2.12.6, stable-2.14.9, "
        "stable-2.14.10, enterprise-2.16.1, enterprise-2.16.5, enterprise-2.17.0-rc1"
    )


def test_parse_release_ambiguous_edition() -> None:
    overlapping = LINKERD.model_copy(
        update={
            "editions": [
                LINKERD.editions[0].model_copy(update={"versions": "*"}),
                LINKERD.editions[1],
            ],
            "releases": LINKERD.releases[:1],
        }
    )
    with pytest.raises(VersionError) as exc:
        Catalog(overlapping).parse_release("2.16.5")
    assert exc.value.message == (
        "`2.16.5` matches editions oss, enterprise; name the edition, e.g. `stable-2.11.5`"
    )


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("enterprise-2.16", "enterprise-2.16.5"),
        ("2.16", "enterprise-2.16.5"),
        ("stable-2.14", "stable-2.14.10"),
        ("2.14.9", "stable-2.14.9"),
        ("stable-2", "stable-2.14.10"),
        ("enterprise-2.16.1", "enterprise-2.16.1"),
    ],
)
def test_resolve_target(text: str, label: str) -> None:
    assert Catalog(LINKERD).resolve_target(text).label == label


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("stable-2.13.7", "`stable-2.13.7` is not a known release"),
        ("2.15", "`2.15` matches no known release"),
        ("2.17", "`2.17` matches no known release"),  # only a pre-release there
        ("2", "`2` matches releases of editions enterprise, oss; name the edition"),
    ],
)
def test_resolve_target_errors(text: str, message: str) -> None:
    with pytest.raises(VersionError) as exc:
        Catalog(LINKERD).resolve_target(text)
    assert exc.value.message == message


def test_release_and_label() -> None:
    catalog = Catalog(LINKERD)
    v = catalog.parse_release("stable-2.14.10")
    entry = catalog.release(v)
    assert entry is not None
    assert entry.charts == {"linkerd-control-plane": "1.16.11"}
    assert catalog.release(catalog.parse_release("stable-2.13.7")) is None
    assert catalog.label(Version("enterprise", parse_semver("2.16.5"))) == "enterprise-2.16.5"
    assert Version("oss", parse_semver("2.11.5")).label == "oss-2.11.5"


@pytest.mark.parametrize(
    ("chart", "pin", "expected"),
    [
        ("linkerd-control-plane", "1.16.11", ["stable-2.14.10"]),
        ("linkerd-control-plane", "~1.16", ["stable-2.14.9", "stable-2.14.10"]),
        ("linkerd-control-plane", None, ["stable-2.12.6", "stable-2.14.9", "stable-2.14.10"]),
        ("linkerd-control-plane", "2.14.10", []),  # product version, not chart version
        ("linkerd2", "2.x", ["stable-2.11.5"]),
        ("linkerd2", "*", ["stable-2.11.5"]),
        (
            "linkerd-enterprise-control-plane",
            "*",
            ["enterprise-2.16.1", "enterprise-2.16.5", "enterprise-2.17.0-rc1"],
        ),
        (
            "linkerd-enterprise-control-plane",
            ">=2.16.0",
            ["enterprise-2.16.1", "enterprise-2.16.5"],
        ),
        ("linkerd-viz", None, []),
    ],
)
def test_releases_for_chart(chart: str, pin: str | None, expected: list[str]) -> None:
    assert labels(Catalog(LINKERD).releases_for_chart(chart, pin)) == expected


def test_duplicate_release_in_catalog() -> None:
    twice = LINKERD.model_copy(update={"releases": [LINKERD.releases[0], LINKERD.releases[0]]})
    with pytest.raises(VersionError) as exc:
        Catalog(twice)
    assert exc.value.message == "release `stable-2.11.5` is listed twice in component `linkerd`"


def test_version_ordering_is_deterministic() -> None:
    a = Version("oss", parse_semver("2.14.10"), "stable")
    b = Version("enterprise", parse_semver("2.15.0"), "enterprise")
    assert sorted([a, b]) == [b, a]
    assert b.newer_than(a)
    assert a == Version("oss", parse_semver("2.14.10"))  # prefix is presentation only
