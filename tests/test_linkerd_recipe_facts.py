"""The smaller recipe facts of issue 10, finding 4, each checked where the user sees it.

Each fact was checked against its source (cited in the recipe and in docs/linkerd.md);
these tests pin what the plan and the merge request say, so a recipe edit cannot bring
the wrong statement back.
"""

from __future__ import annotations

import tarfile

import pytest

from engine.output.render import render_markdown
from engine.recipe.loading import Library, load_library
from tests.checks.repostate import all_releases, walk
from tests.checks.scenarios import SCENARIOS, Outcome, run
from tests.checks.shared import shared_dir


@pytest.fixture(scope="module")
def library() -> Library:
    return load_library()


@pytest.fixture(scope="module")
def outcomes(library: Library) -> dict[str, Outcome]:
    wanted = ("examples/stable-2.12", "stable-2.14/enterprise-2.15-in-place")
    return {s.id: run(s, library) for s in SCENARIOS if s.id in wanted}


def markdown(outcomes: dict[str, Outcome], scenario: str) -> str:
    plan = outcomes[scenario].plan
    assert plan is not None
    return " ".join(render_markdown(plan).split())  # notes wrap: compare words


def test_no_linkerd_chart_has_a_crds_folder() -> None:
    """`install/upgrade.crds` only governs a chart's crds/ folder (flux.md 1.2)."""
    charts = sorted((shared_dir() / "charts" / "linkerd").glob("*/*.tgz"))
    assert len(charts) == 23
    for chart in charts:
        with tarfile.open(chart) as tar:
            folders = {name.split("/")[1] for name in tar.getnames() if name.count("/") >= 2}
        assert "crds" not in folders, chart.name


def test_the_split_sets_no_crd_policy(outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes["examples/stable-2.12"]
    assert outcome.plan is not None
    for step in walk(outcome.plan, outcome.initial):
        for release in all_releases(step.after).values():
            for action in ("install", "upgrade"):
                assert "crds" not in (release.spec.get(action) or {}), release.label


def test_in_place_rename_on_an_old_controller_fails_closed(outcomes: dict[str, Outcome]) -> None:
    text = markdown(outcomes, "stable-2.14/enterprise-2.15-in-place")
    assert (
        'server-side apply dry-run fails with "field not declared in schema" and the '
        "Kustomization stops applying" in text
    )
    assert "That fails closed (nothing is uninstalled)" in text
    assert "the API server drops it" not in text


def test_take_ownership_is_the_default_from_helm_controller_1_1(
    outcomes: dict[str, Outcome],
) -> None:
    text = markdown(outcomes, "examples/stable-2.12")
    assert (
        "With helm-controller v1.1.0 or later (Flux 2.4+) take-ownership is on by default" in text
    )
    assert "v1.2.0 or later (Flux 2.5+) take-ownership" not in text


def test_re_annotation_covers_pod_security_policies(outcomes: dict[str, Outcome]) -> None:
    plan = outcomes["examples/stable-2.12"].plan
    assert plan is not None
    commands = {
        c
        for commit in plan.commits
        for n in commit.notes
        for c in n.commands
        if "meta.helm.sh/release-name=linkerd-control-plane" in c
    }
    assert commands
    for command in commands:
        assert (
            'grep -qx podsecuritypolicies.policy && kinds="$kinds,podsecuritypolicies"' in command
        )
        assert 'kubectl get "$kinds" -A -o json' in command


def test_defaults_users_feel_are_named(outcomes: dict[str, Outcome]) -> None:
    text = markdown(outcomes, "examples/stable-2.12")
    assert "`enableEndpointSlices` false -> true" in text
    assert "CPU request 10m -> 100m and memory limit 50Mi -> 20Mi" in text


def test_multicluster_note_keeps_mirrored_services(library: Library) -> None:
    recipe = library.recipes["stable-2.11-to-stable-2.12"].recipe
    texts = [
        step.body.text
        for phase in recipe.phases
        for step in phase.steps
        if hasattr(step, "body") and "Multicluster" in step.body.title
    ]
    assert any("The mirrored services survive" in t for t in texts)
    assert not any("cross-cluster traffic stops" in t for t in texts)


def test_install_namespace_false_is_settled_not_unverified(library: Library) -> None:
    recipe = library.recipes["stable-2.11-to-stable-2.12"].recipe
    assert not [u for u in recipe.unverified if "installNamespace" in u]
    uninstall = next(p for p in recipe.phases if p.name == "extensions-uninstall")
    assert "the 30.x charts put everything in `.Release.Namespace`" in " ".join(
        (uninstall.description or "").split()
    )


def test_old_flux_api_versions_get_a_note(outcomes: dict[str, Outcome]) -> None:
    plan = outcomes["examples/stable-2.12"].plan
    assert plan is not None
    titles = [n.title for commit in plan.commits for n in commit.notes]
    # nonprod is on helm.toolkit.fluxcd.io/v2beta1, prod on v2
    assert (
        "clusters/nonprod/link-control-plane/helmrelease.yaml uses "
        "helm.toolkit.fluxcd.io/v2beta1: check which Flux runs this cluster" in titles
    )
    assert not [t for t in titles if t.startswith("clusters/prod/") and "check which Flux" in t]
