"""Snapshot scenarios of the Linkerd recipes over the fixture repos, and the checks on them.

Every scenario of tests/checks/scenarios.py is planned once per session; its plan.md and
per-commit diffs are compared with snapshots/<fixture>/<scenario>/ (docs/snapshots.md), and
every check of tests/checks/ runs over its plan.
"""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import pytest

from engine.output.apply import apply_plan
from engine.output.render import render_json
from engine.planning.planmodel import Plan, ReportItem
from engine.planning.planner import make_plan
from engine.recipe.loading import Library, load_library
from engine.repo.workspace import Workspace
from tests.checks import chart_values, flux_schema, prune_gate, release_safety, secrets
from tests.checks.repostate import patch_files, read_tree
from tests.checks.scenarios import SCENARIOS, Outcome, Scenario, run
from tests.checks.shared import REPO, shared_dir
from tests.snapshot_ext import ScenarioSnapshot, orphan_folders

PLANNED = [s for s in SCENARIOS if s.error is None]
REFUSED = [s for s in SCENARIOS if s.error is not None]
RECIPES = sorted(p.stem for p in (REPO / "recipes" / "linkerd").glob("*-to-*.yaml"))


@pytest.fixture(scope="module")
def library() -> Library:
    return load_library()


@pytest.fixture(scope="module")
def outcomes(library: Library) -> dict[str, Outcome]:
    """Each scenario planned once, on first use."""
    return _Lazy(library)


class _Lazy(dict[str, Outcome]):
    def __init__(self, library: Library) -> None:
        super().__init__()
        self.library = library

    def __missing__(self, key: str) -> Outcome:
        scenario = next(s for s in SCENARIOS if s.id == key)
        self[key] = run(scenario, self.library)
        return self[key]


def _plan(outcomes: dict[str, Outcome], scenario: Scenario) -> tuple[Outcome, Plan]:
    outcome = outcomes[scenario.id]
    assert outcome.plan is not None
    return outcome, outcome.plan


def _fail_on(problems: list[str]) -> None:
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


# -- snapshots -------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_snapshot(
    scenario: Scenario, outcomes: dict[str, Outcome], scenario_snapshot: ScenarioSnapshot
) -> None:
    outcome = outcomes[scenario.id]
    for name, text in outcome.files.items():
        assert str(REPO) not in text and "/tmp/" not in text, f"{name} holds an absolute path"
    scenario_snapshot.assert_folder(scenario.id, outcome.files)


def test_no_orphan_snapshot_folders(request: pytest.FixtureRequest) -> None:
    update = bool(request.config.option.update_snapshots)
    _fail_on(orphan_folders({s.id for s in SCENARIOS}, update))


@pytest.mark.parametrize("scenario", REFUSED, ids=[s.id for s in REFUSED])
def test_refusal_says_why(scenario: Scenario, outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes[scenario.id]
    assert outcome.error is not None, f"{scenario.id} should be refused"
    assert scenario.error is not None and scenario.error in outcome.error.message
    assert outcome.error.hint


def test_every_recipe_is_covered_by_two_fixture_layouts(outcomes: dict[str, Outcome]) -> None:
    fixtures: dict[str, set[str]] = defaultdict(set)
    for scenario in PLANNED:
        for recipe in _plan(outcomes, scenario)[1].path:
            fixtures[recipe].add(scenario.fixture)
    thin = {r: sorted(fixtures[r]) for r in RECIPES if len(fixtures[r]) < 2}
    assert not thin, f"recipes with snapshots on fewer than two fixture layouts: {thin}"


# -- checks over every planned scenario ------------------------------------------------------


@pytest.mark.parametrize("scenario", PLANNED, ids=[s.id for s in PLANNED])
def test_flux_objects_validate_against_crds(
    scenario: Scenario, outcomes: dict[str, Outcome]
) -> None:
    outcome, plan = _plan(outcomes, scenario)
    schemas = shared_dir() / "schemas" / "flux"
    _fail_on(flux_schema.check_plan(plan, outcome.initial, schemas, patch_files(scenario.root)))


@pytest.mark.parametrize("scenario", PLANNED, ids=[s.id for s in PLANNED])
def test_values_keys_exist_in_chart(scenario: Scenario, outcomes: dict[str, Outcome]) -> None:
    outcome, plan = _plan(outcomes, scenario)
    charts = shared_dir() / "reference" / "charts"
    _fail_on(chart_values.check_plan(plan, outcome.initial, charts))


@pytest.mark.parametrize("scenario", PLANNED, ids=[s.id for s in PLANNED])
def test_no_accidental_uninstall(scenario: Scenario, outcomes: dict[str, Outcome]) -> None:
    outcome, plan = _plan(outcomes, scenario)
    _fail_on(release_safety.check_plan(plan, outcome.initial, patch_files(scenario.root)))


@pytest.mark.parametrize("scenario", PLANNED, ids=[s.id for s in PLANNED])
def test_uninstalls_by_deletion_happen_with_pruning_on(
    scenario: Scenario, outcomes: dict[str, Outcome]
) -> None:
    outcome, plan = _plan(outcomes, scenario)
    _fail_on(prune_gate.check_plan(plan, outcome.initial))


@pytest.mark.parametrize("scenario", PLANNED, ids=[s.id for s in PLANNED])
def test_no_secret_in_rendered_output(scenario: Scenario, outcomes: dict[str, Outcome]) -> None:
    outcome, plan = _plan(outcomes, scenario)
    _fail_on(secrets.check_plan(plan, outcome.initial, outcome.files))


@pytest.mark.parametrize("scenario", PLANNED, ids=[s.id for s in PLANNED])
def test_deterministic_and_idempotent(
    scenario: Scenario, outcomes: dict[str, Outcome], library: Library, tmp_path: Path
) -> None:
    outcome, plan = _plan(outcomes, scenario)
    again = make_plan(Workspace(scenario.root), library, scenario.request())
    assert render_json(again) == render_json(plan), "planning twice gave different JSON"

    repo = tmp_path / "repo"
    shutil.copytree(scenario.root, repo)
    apply_plan(repo, plan, allow_dirty=True)
    # Without --set: a repo at the target has no path, so no recipe takes the params
    # (and the engine refuses them; see test_replan_with_the_same_params_is_a_noop).
    request = replace(scenario.request(), params={})
    after = make_plan(Workspace(repo), library, request)
    assert not after.has_changes, "planning again after apply still changes files:\n" + json.dumps(
        [c.subject for c in after.commits], indent=2
    )
    assert [i.status for i in after.instances] == ["current"] * len(after.instances)
    # apply wrote exactly the final state the commits describe
    expected = dict(outcome.initial)
    for commit in plan.commits:
        for change in commit.changes:
            if change.content is None:
                expected.pop(change.path, None)
            else:
                expected[change.path] = change.content
    assert read_tree(repo) == expected


WITH_PARAMS = [s for s in PLANNED if s.params]


@pytest.mark.parametrize("scenario", WITH_PARAMS, ids=[s.id for s in WITH_PARAMS])
def test_replan_with_the_same_params_is_a_noop(
    scenario: Scenario, outcomes: dict[str, Outcome], library: Library, tmp_path: Path
) -> None:
    _, plan = _plan(outcomes, scenario)
    repo = tmp_path / "repo"
    shutil.copytree(scenario.root, repo)
    apply_plan(repo, plan, allow_dirty=True)
    assert not make_plan(Workspace(repo), library, scenario.request()).has_changes


# -- the checks catch what they claim to -------------------------------------------------------

_BASE = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: linkerd-control-plane
  namespace: linkerd
spec:
  interval: 1h
{extra}  chart:
    spec:
      chart: {chart}
      version: "{version}"
      sourceRef:
        kind: HelmRepository
        name: linkerd
  values:
{values}"""


def _release(
    *,
    chart: str = "linkerd-control-plane",
    version: str = "1.16.11",
    values: str = "    proxy:\n      logLevel: info\n",
    extra: str = "",
) -> bytes:
    return _BASE.format(chart=chart, version=version, values=values, extra=extra).encode()


def _plan_of(
    *states: dict[str, bytes | None], reports: list[ReportItem] | None = None, gate: bool = True
) -> Plan:
    from engine.planning.planmodel import Commit, FileChange, GateInfo

    commits = []
    for number, state in enumerate(states, 1):
        commits.append(
            Commit(
                subject=f"c{number}",
                body="",
                recipe="r",
                phase=f"p{number}",
                phase_number=number,
                phase_count=len(states),
                from_version="stable-2.14.10",
                to_version="stable-2.14.10",
                instances=["."],
                changes=[
                    FileChange(p, "deleted" if c is None else "modified", c)
                    for p, c in state.items()
                ],
                gate=GateInfo("reconciled") if gate else None,
                reports=list(reports or []),
            )
        )
    return Plan(target="linkerd@stable-2.14.10", instances=[], commits=commits, inputs={})


def test_safety_check_catches_unsuspended_delete_and_chart_rename() -> None:
    initial = {"hr.yaml": _release()}
    deleted = _plan_of({"hr.yaml": None})
    assert "not suspended" in release_safety.check_plan(deleted, initial)[0]
    renamed = _plan_of({"hr.yaml": _release(chart="linkerd-enterprise-control-plane")})
    assert (
        "chart 'linkerd-control-plane' -> 'linkerd-enterprise-control-plane'"
        in (release_safety.check_plan(renamed, initial)[0])
    )
    in_place = _plan_of(
        {
            "hr.yaml": _release(
                chart="linkerd-enterprise-control-plane",
                extra="  upgrade:\n    chartNameChangeStrategy: InPlaceUpdate\n",
            )
        }
    )
    assert release_safety.check_plan(in_place, initial) == []
    suspend_then_delete = _plan_of(
        {"hr.yaml": _release(extra="  suspend: true\n")}, {"hr.yaml": None}
    )
    assert release_safety.check_plan(suspend_then_delete, initial) == []
    ungated = _plan_of(
        {"hr.yaml": _release(extra="  suspend: true\n")}, {"hr.yaml": None}, gate=False
    )
    assert "without a gate" in release_safety.check_plan(ungated, initial)[0]
    declared = _plan_of(
        {"hr.yaml": None},
        reports=[
            ReportItem(
                "uninstall", "HelmRelease linkerd/linkerd-control-plane is deleted", "hr.yaml"
            )
        ],
    )
    assert release_safety.check_plan(declared, initial) == []


def test_schema_check_is_strict_and_knows_the_cel_rule() -> None:
    schemas = shared_dir() / "schemas" / "flux"
    initial = {"hr.yaml": _release()}
    unknown = _plan_of({"hr.yaml": _release(extra="  valuesFile: x.yaml\n")})
    assert "valuesFile" in " ".join(flux_schema.check_plan(unknown, initial, schemas))
    both = _plan_of(
        {"hr.yaml": _release(extra="  chartRef:\n    kind: OCIRepository\n    name: x\n")}
    )
    assert "exactly one of chart and chartRef" in " ".join(
        flux_schema.check_plan(both, initial, schemas)
    )
    assert (
        flux_schema.check_plan(_plan_of({"hr.yaml": _release(version="1.16.10")}), initial, schemas)
        == []
    )


def test_values_check_flags_only_added_unknown_keys() -> None:
    charts = shared_dir() / "reference" / "charts"
    initial = {"hr.yaml": _release(values="    userTypo: 1\n")}
    typo = _plan_of({"hr.yaml": _release(values="    userTypo: 1\n    proxy:\n      logLevl: x\n")})
    assert [p.split(": ", 1)[1] for p in chart_values.check_plan(typo, initial, charts)] == [
        "HelmRelease linkerd/linkerd-control-plane (hr.yaml) sets values key 'proxy.logLevl', "
        "which chart linkerd-control-plane 1.16.11 does not have"
    ]
    fine = _plan_of(
        {"hr.yaml": _release(values="    userTypo: 1\n    podAnnotations:\n      a: b\n")}
    )
    assert chart_values.check_plan(fine, initial, charts) == []


def test_fixtures_with_secrets_plant_canaries() -> None:
    # Without canaries the leak check would pass vacuously on these layouts.
    for fixture in ("examples", "stable-2.14", "base-overlays", "enterprise-2.16"):
        scenario = next(s for s in SCENARIOS if s.fixture == fixture)
        assert secrets.canaries(read_tree(scenario.root)), fixture


def test_secret_check_finds_a_written_canary() -> None:
    initial = {"hr.yaml": _release(), "s.yaml": b"kind: Secret\nstringData:\n  key: CANARY-XYZ-1\n"}
    leak = _plan_of({"hr.yaml": _release(values="    license: CANARY-XYZ-1\n")})
    assert secrets.check_plan(leak, initial, {}) == [
        "commit 1 (r/p1): writes 'CANARY-XYZ-1' into hr.yaml"
    ]


def test_missing_shared_folder_fails_clearly(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from tests.checks.shared import SharedDataMissing

    monkeypatch.setenv("WAYPATH_SHARED", str(tmp_path / "nowhere"))
    with pytest.raises(SharedDataMissing, match="WAYPATH_SHARED"):
        shared_dir()


def _flux_kustomization(prune: bool) -> bytes:
    return (
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n"
        "metadata:\n  name: apps\n  namespace: flux-system\n"
        f"spec:\n  path: ./clusters/a\n  prune: {str(prune).lower()}\n"
    ).encode()


def test_prune_check_catches_an_uninstall_flux_will_not_do() -> None:
    def problems(prune: bool, release: bytes) -> list[str]:
        initial = {"clusters/ks.yaml": _flux_kustomization(prune), "clusters/a/hr.yaml": release}
        return prune_gate.check_plan(_plan_of({"clusters/a/hr.yaml": None}), initial)

    assert problems(False, _release()) == [
        "commit 1 (r/p1): deletes HelmRelease linkerd/linkerd-control-plane (clusters/a/hr.yaml) "
        "to uninstall it, but Flux Kustomization apps has prune: false, so the object stays "
        "in the cluster"
    ]
    assert problems(True, _release()) == []
    assert problems(False, _release(extra="  suspend: true\n")) == []
