"""The snapshot scenarios: one fixture repo, one target, the arguments a user would pass.

A scenario either plans (its snapshot is `plan.md` plus one `.diff` per commit with file
changes) or is expected to fail (its snapshot is `error.md`, the error as the user sees it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import WaypathError
from engine.output.render import commit_diffs, render_markdown
from engine.planning.planmodel import Plan
from engine.planning.planner import PlanRequest, make_plan
from engine.recipe.loading import Library, bundled_recipes_dir
from engine.repo.config import Wave, load_config
from engine.repo.workspace import Workspace
from tests.checks.repostate import read_tree
from tests.checks.shared import REPO

FIXTURES = REPO / "tests" / "fixtures"


@dataclass(frozen=True)
class Scenario:
    fixture: str  # a folder of tests/fixtures, or "examples"
    name: str  # the snapshot folder below snapshots/<fixture>/
    target: str
    params: Mapping[str, str] = field(default_factory=dict)
    assume: Mapping[str, str] = field(default_factory=dict)
    allow_unsupported: bool = False
    error: str | None = None  # a fragment of the expected error message, if it must fail
    waves: bool = False  # use the waves of the fixture's waypath.yaml
    wave: str | None = None  # --wave

    @property
    def id(self) -> str:
        return f"{self.fixture}/{self.name}"

    @property
    def root(self) -> Path:
        return REPO / "examples" if self.fixture == "examples" else FIXTURES / self.fixture

    def request(self) -> PlanRequest:
        return PlanRequest(
            target=self.target,
            params=dict(self.params),
            assume=dict(self.assume),
            allow_unsupported=self.allow_unsupported,
            waves=_waves(self.root) if self.waves else (),
            wave=self.wave,
        )


def _waves(root: Path) -> tuple[Wave, ...]:
    config = load_config(root)
    return tuple(config.waves) if config else ()


OSS_211 = {"linkerd": "stable-2.11.5"}
OSS_214 = {"linkerd": "stable-2.14.10"}

SCENARIOS = [
    Scenario("examples", "stable-2.12", "linkerd@stable-2.12"),
    Scenario("examples", "stable-2.14", "linkerd@stable-2.14"),
    Scenario("examples", "enterprise-2.16", "linkerd@enterprise-2.16"),
    Scenario(
        "examples", "enterprise-2.16-direct", "linkerd@enterprise-2.16", allow_unsupported=True
    ),
    Scenario("examples", "enterprise-2.19", "linkerd@enterprise-2.19"),
    Scenario(
        "addons-layout",
        "stable-2.12-pause-prune",
        "linkerd@stable-2.12",
        params={"pause_prune": "true"},
    ),
    Scenario("addons-layout", "enterprise-2.16", "linkerd@enterprise-2.16"),
    Scenario("addons-layout", "enterprise-2.19", "linkerd@enterprise-2.19"),
    Scenario("per-cluster-copies", "stable-2.12", "linkerd@stable-2.12", assume=OSS_211),
    Scenario("per-cluster-copies", "stable-2.14", "linkerd@stable-2.14", assume=OSS_211),
    # The extensions share the paused Kustomization (flux-system applies clusters/prod).
    Scenario(
        "per-cluster-copies",
        "stable-2.12-pause-prune",
        "linkerd@stable-2.12",
        assume=OSS_211,
        params={"pause_prune": "true"},
    ),
    Scenario("oci-source", "stable-2.14", "linkerd@stable-2.14"),
    Scenario(
        "oci-source",
        "enterprise-2.15-refused",
        "linkerd@enterprise-2.15",
        error="takes its chart from OCIRepository, not a HelmRepository",
    ),
    Scenario("stable-2.14", "enterprise-2.15", "linkerd@enterprise-2.15", assume=OSS_214),
    Scenario(
        "stable-2.14",
        "enterprise-2.15-in-place",
        "linkerd@enterprise-2.15",
        assume=OSS_214,
        params={"chart_rename": "in-place"},
    ),
    Scenario(
        "stable-2.14",
        "enterprise-2.16-direct",
        "linkerd@enterprise-2.16",
        assume=OSS_214,
        allow_unsupported=True,
    ),
    Scenario(
        "stable-2.14",
        "enterprise-2.19-gateway-handover",
        "linkerd@enterprise-2.19",
        assume=OSS_214,
        params={"gateway_api_handover": "true"},
    ),
    Scenario("enterprise-2.16", "enterprise-2.16-noop", "linkerd@enterprise-2.16"),
    Scenario("enterprise-2.16", "enterprise-2.17", "linkerd@enterprise-2.17"),
    Scenario("enterprise-2.16", "enterprise-2.19", "linkerd@enterprise-2.19"),
    Scenario("base-overlays", "stable-2.12", "linkerd@stable-2.12", assume=OSS_211),
    Scenario("flux-overlays", "stable-2.12", "linkerd@stable-2.12"),
    Scenario("flux-overlays", "enterprise-2.16", "linkerd@enterprise-2.16"),
    Scenario("shared-base", "enterprise-2.15", "linkerd@enterprise-2.15"),
    Scenario(
        "shared-base",
        "wave-staging-refused",
        "linkerd@enterprise-2.15",
        waves=True,
        wave="staging",
        error="would change what clusters outside the wave render: production",
    ),
    Scenario(
        "shared-base",
        "waves-together",
        "linkerd@enterprise-2.15",
        waves=True,
        wave="staging,production",
    ),
    Scenario(
        "floating-pins",
        "edge-refused",
        "linkerd@enterprise-2.15",
        error="Waypath cannot upgrade 1 linkerd instance(s)",
    ),
    Scenario(
        "floating-pins",
        "enterprise-2.15-staging-wave",
        "linkerd@enterprise-2.15",
        waves=True,
        wave="staging",
    ),
    Scenario(
        "not-flux",
        "no-linkerd",
        "linkerd@stable-2.12",
        error="no linkerd installation found in the repo",
    ),
]


@dataclass
class Outcome:
    """What planning a scenario gave: a plan and its snapshot files, or an error."""

    scenario: Scenario
    initial: dict[str, bytes]
    plan: Plan | None = None
    error: WaypathError | None = None
    files: dict[str, str] = field(default_factory=dict)


def diff_name(number: int, recipe: str, phase: str) -> str:
    return f"{number:02d}-{recipe}-{phase}.diff"


def snapshot_files(plan: Plan, initial: Mapping[str, bytes]) -> dict[str, str]:
    files = {"plan.md": render_markdown(plan)}
    diffs = commit_diffs(plan, initial.get)
    for number, (commit, diff) in enumerate(zip(plan.commits, diffs, strict=True), 1):
        if diff:
            files[diff_name(number, commit.recipe, commit.phase)] = diff
    return files


def render_error(error: WaypathError) -> str:
    """The error as the CLI prints it, with paths made relative to the repo (the bundled
    recipes as `recipes/`, also when they come from an installed package)."""
    text = error.render().replace(str(bundled_recipes_dir()) + "/", "recipes/")
    text = text.replace(str(REPO) + "/", "")
    return f"# Waypath refuses: {type(error).__name__}\n\n```text\n{text}\n```\n"


def run(scenario: Scenario, library: Library) -> Outcome:
    outcome = Outcome(scenario, read_tree(scenario.root))
    try:
        outcome.plan = make_plan(Workspace(scenario.root), library, scenario.request())
    except WaypathError as exc:
        if scenario.error is None:
            raise
        outcome.error = exc
        outcome.files = {"error.md": render_error(exc)}
        return outcome
    outcome.files = snapshot_files(outcome.plan, outcome.initial)
    return outcome
