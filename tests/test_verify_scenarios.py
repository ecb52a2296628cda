"""Every snapshot scenario verified per commit with the real tools (docs/snapshots.md):
kustomize build of every Flux Kustomization path, Flux CRD schemas, dependsOn/healthChecks
references, and `helm template` of every OSS Linkerd release with the vendored charts.
Plus: every value a recipe changes on a rendered release changes the rendered output, or
is listed in INERT with the reason.

Builds and renders are cached by content hash for the session (and on disk in
.cache/verify-tests, so a second local run reuses them).
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest

from engine.recipe.loading import Library, load_library
from engine.repo.workspace import Workspace
from engine.verify.cache import VerifyCache
from engine.verify.helm import stable_output, template
from engine.verify.options import VerifyOptions, resolve_options
from engine.verify.plancheck import CommitVerdict, verify_plan
from engine.verify.releases import Rendered
from engine.verify.tree import Tree
from engine.verify.values import set_path
from engine.verify.verifier import verify_tree
from tests.checks.scenarios import SCENARIOS, Outcome, Scenario, run
from tests.checks.shared import REPO
from tests.k8s_tools import K8sTools

PLANNED = [s for s in SCENARIOS if s.error is None]
CHARTS = REPO / "third_party" / "shared" / "charts" / "linkerd"
OSS_CHARTS = {"linkerd2", "linkerd-crds", "linkerd-control-plane", "linkerd-viz", "linkerd-jaeger",
              "linkerd-multicluster", "linkerd2-cni"}  # fmt: skip

# Problems `plan --verify` finds in today's recipes. Each entry: a pattern of the failure
# message and what goes wrong. The test fails on any failure no entry explains, and on an
# entry nothing matches any more (the fix landed: delete the entry).
KNOWN: dict[str, str] = {
    r"dependsOn HelmRelease linkerd/linkerd-viz: no such HelmRelease": (
        "flux-overlays: between the 2.11 -> 2.12 extension uninstall and its reinstall (the "
        "documented path), podinfo's dependsOn on linkerd-viz has nothing to wait for; Flux "
        "holds podinfo not ready until the next commit re-creates linkerd-viz"
    ),
}

# Values recipes may write that do not change the chart's output, on purpose:
# (chart file, dotted values path) -> why. test_inert_values_are_inert proves each one.
INERT: dict[tuple[str, str], str] = {
    ("linkerd-control-plane-1.9.8.tgz", "controllerImageVersion"): (
        "2.12 charts ignore it, 2.14 reads it again: a pin kept so it is right when it wakes"
    ),
    ("linkerd-control-plane-1.12.7.tgz", "controllerImageVersion"): (
        "2.13 charts ignore it, 2.14 reads it again: a pin kept so it is right when it wakes"
    ),
}


# Read by the proxy injector from the linkerd-config ConfigMap when it injects a pod, so
# their only trace in a render is that ConfigMap's copy of the values.
INJECTOR_READS = ("proxy.", "proxyInit.", "debugContainer.")


def _workloads(output: str) -> str:
    """A render without generated certificates and without linkerd-config, which echoes
    every value given (so any value would seem to change the output)."""
    docs = stable_output(output).split("\n---\n")
    return "\n---\n".join(
        d for d in docs if not ("\nkind: ConfigMap\n" in d and "\n  name: linkerd-config\n" in d)
    )


@pytest.fixture(scope="module")
def library() -> Library:
    return load_library()


@pytest.fixture(scope="module")
def options(k8s_tools: K8sTools) -> VerifyOptions:
    return resolve_options(
        kustomize=f"{k8s_tools.kubectl} kustomize", helm=str(k8s_tools.helm), charts=[CHARTS]
    )


@pytest.fixture(scope="module")
def cache() -> VerifyCache:
    return VerifyCache(REPO / ".cache" / "verify-tests")


class _Verified(dict[str, tuple[Outcome, list[CommitVerdict]]]):
    def __init__(self, library: Library, options: VerifyOptions, cache: VerifyCache) -> None:
        super().__init__()
        self.library, self.options, self.cache = library, options, cache

    def __missing__(self, key: str) -> tuple[Outcome, list[CommitVerdict]]:
        outcome = run(next(s for s in SCENARIOS if s.id == key), self.library)
        assert outcome.plan is not None
        start = Tree(Workspace(outcome.scenario.root))
        initial = CommitVerdict(
            0, "(before the plan)", verify_tree(start, self.options, self.cache)
        )
        verdicts = verify_plan(start, outcome.plan, self.options, self.cache)
        self[key] = (outcome, [initial, *verdicts])
        return self[key]


@pytest.fixture(scope="module")
def verified(library: Library, options: VerifyOptions, cache: VerifyCache) -> _Verified:
    return _Verified(library, options, cache)


def _checked(verdicts: list[CommitVerdict]) -> Iterator[CommitVerdict]:
    return (v for v in verdicts if v.report is not None)


@pytest.mark.parametrize("scenario", PLANNED, ids=[s.id for s in PLANNED])
def test_every_commit_builds_validates_and_renders(scenario: Scenario, verified: _Verified) -> None:
    _, verdicts = verified[scenario.id]
    unexplained: list[str] = []
    for verdict in _checked(verdicts):
        report = verdict.report
        assert report is not None
        counts = report.counts()
        assert "skip" not in counts["build"] and "skip" not in counts["schema"]
        if scenario.fixture != "not-flux":
            assert counts["build"].get("pass", 0) + counts["build"].get("fail", 0) >= 2
        # Every OSS Linkerd release at a vendored version is rendered; only charts we do
        # not vendor are skipped: enterprise charts, and the newer chart versions
        # (edge, calendar) that enterprise releases pin for the extensions.
        for skipped in report.skipped:
            assert skipped.check == "render", skipped
            chart = re.search(r"chart (\S+) is not in the --charts", skipped.message)
            newer = re.search(r"has no version matching '(\d{4}\.|[0-9.]+-edge)", skipped.message)
            assert (chart and chart.group(1) not in OSS_CHARTS) or newer, skipped
        for failure in report.failures:
            if not any(re.search(p, failure.message) for p in KNOWN):
                unexplained.append(
                    f"commit {verdict.number} ({verdict.subject}): {failure.path}: "
                    f"{failure.check} of {failure.subject}: {failure.message}"
                )
        if verdict.number == 0:
            assert report.ok, f"the fixture itself fails verification: {report.failures}"
    assert not unexplained, "\n".join(unexplained)


def test_every_known_problem_is_still_seen(verified: _Verified) -> None:
    seen = {
        pattern
        for scenario in PLANNED
        for verdict in _checked(verified[scenario.id][1])
        for failure in verdict.report.failures  # type: ignore[union-attr]
        for pattern in KNOWN
        if re.search(pattern, failure.message)
    }
    assert sorted(set(KNOWN) - seen) == [], "fixed: delete these KNOWN entries"


def _leaves(values: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(values, dict) and values:
        for key, value in values.items():
            yield from _leaves(value, (*prefix, str(key)))
    else:
        yield prefix, values


def _without(values: dict[str, Any], path: tuple[str, ...], old: Any) -> dict[str, Any]:
    """`values` with the leaf at `path` set back to `old` (removed when `old` is None)."""
    out: dict[str, Any] = dict(values)
    node = out
    for key in path[:-1]:
        node[key] = dict(node[key])
        node = node[key]
    if old is None:
        del node[path[-1]]
    else:
        node[path[-1]] = old
    return out


def _written_values(verified: _Verified) -> dict[tuple[str, str], tuple[Rendered, Any, Any]]:
    """(chart file, dotted path) -> one release where a commit changed that value, with the
    value before and after. A release a commit creates is compared with the one it
    replaces (gone in the same commit, same cluster and namespace)."""
    found: dict[tuple[str, str], tuple[Rendered, Any, Any]] = {}
    for scenario in PLANNED:
        verdicts = list(_checked(verified[scenario.id][1]))
        for before, after in itertools.pairwise(verdicts):
            assert before.report is not None and after.report is not None
            old = {(r.cluster, r.path, r.release, r.namespace): r for r in before.report.rendered}
            new = {(r.cluster, r.path, r.release, r.namespace): r for r in after.report.rendered}
            for key, release in new.items():
                prev = old.get(key)
                if prev is None:
                    gone = [
                        r
                        for k, r in old.items()
                        if k not in new and k[0] == key[0] and k[3] == key[3]
                    ]
                    prev = gone[0] if len(gone) == 1 else None
                if prev is None:
                    continue
                prev_leaves = dict(_leaves(prev.values))
                for path, value in _leaves(release.values):
                    if path and prev_leaves.get(path) != value:
                        dotted = (release.chart.path.name, ".".join(path))
                        found.setdefault(dotted, (release, prev_leaves.get(path), value))
    return found


def test_every_written_value_changes_the_render(
    verified: _Verified, options: VerifyOptions, cache: VerifyCache
) -> None:
    written = _written_values(verified)
    assert written, "no scenario changes a value of a rendered release: the check is vacuous"
    inert: list[str] = []
    for (chart, dotted), (release, old, new) in sorted(written.items()):
        reverted = _without(release.values, tuple(dotted.split(".")), old)
        out = template(
            options.helm, release.chart, release.release, release.namespace, reverted, cache
        )
        assert out.error is None, out.error
        if _workloads(out.output) != _workloads(release.output) or (chart, dotted) in INERT:
            continue
        if dotted.startswith(INJECTOR_READS) and stable_output(out.output) != stable_output(
            release.output
        ):
            continue  # reaches the injected proxies through linkerd-config
        inert.append(f"{chart}: {dotted} ({old!r} -> {new!r}, {release.path})")
    assert not inert, "values that change nothing in the rendered output:\n" + "\n".join(inert)


def test_verification_counts(verified: _Verified, cache: VerifyCache) -> None:
    commits = sum(len(list(_checked(verified[s.id][1]))) - 1 for s in PLANNED)
    renders = defaultdict(int)
    for scenario in PLANNED:
        for verdict in _checked(verified[scenario.id][1]):
            assert verdict.report is not None
            for result in verdict.report.results:
                renders[(result.check, result.status)] += 1
    print(
        f"\nverified {commits} commits; builds checked {renders[('build', 'pass')] + renders[('build', 'fail')]}, "
        f"renders checked {renders[('render', 'pass')]}; tool runs: {dict(cache.stats)}"
    )
    assert commits >= len(PLANNED)
    assert renders[("render", "pass")] > 0


@pytest.mark.parametrize(
    ("chart", "dotted"), sorted(INERT), ids=["/".join(k) for k in sorted(INERT)]
)
def test_inert_values_are_inert(
    chart: str, dotted: str, options: VerifyOptions, cache: VerifyCache
) -> None:
    assert options.charts is not None
    name, version = chart.removesuffix(".tgz").rsplit("-", 1)
    found = options.charts.find(name, version)
    assert found is not None and found.path.name == chart
    base = {
        "identityTrustAnchorsPEM": "x",
        "identity": {"issuer": {"tls": {"crtPEM": "x", "keyPEM": "x"}}},
    }
    set_to = dict(base)
    set_path(set_to, dotted, "stable-9.9.9")
    plain = template(options.helm, found, "linkerd-control-plane", "linkerd", base, cache)
    pinned = template(options.helm, found, "linkerd-control-plane", "linkerd", set_to, cache)
    assert plain.error is None and pinned.error is None
    assert _workloads(plain.output) == _workloads(pinned.output)
    # ... and the chart that reads it again does change: the pin is dormant, not dead.
    newest = options.charts.find(name, "1.16.11")
    assert newest is not None
    woken = template(options.helm, newest, "linkerd-control-plane", "linkerd", set_to, cache)
    assert "controller:stable-9.9.9" in woken.output
