"""Floating pins resolved per channel (engine/repo/channels.py) with the bundled Linkerd
catalog: frozen stable channel, still-publishing enterprise channel, refused edge."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import DetectionError
from engine.planning.planner import PlanRequest, make_plan
from engine.recipe.loading import load_library
from engine.repo.detect import detect
from engine.repo.workspace import Workspace
from tests.helpers import build_tree


def release(chart: str, version: str | None, repo: str) -> dict[str, str]:
    pin = f'      version: "{version}"\n' if version is not None else ""
    return {
        "linkerd/repo.yaml": (
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\n"
            f"metadata:\n  name: linkerd\n  namespace: flux-system\nspec:\n  url: {repo}\n"
        ),
        "linkerd/release.yaml": (
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\n"
            "metadata:\n  name: linkerd-control-plane\n  namespace: linkerd\n"
            f"spec:\n  chart:\n    spec:\n      chart: {chart}\n{pin}"
            "      sourceRef:\n        kind: HelmRepository\n        name: linkerd\n"
            "        namespace: flux-system\n"
        ),
    }


def found(tmp_path: Path, files: dict[str, str], **assume: str):  # type: ignore[no-untyped-def]
    source = load_library().components["linkerd"]
    (instance,) = detect(
        Workspace(build_tree(tmp_path, files)), source.component, source.catalog, assume=assume
    )
    return instance


def test_unpinned_on_the_frozen_stable_channel_is_its_last_release(tmp_path: Path) -> None:
    instance = found(
        tmp_path, release("linkerd-control-plane", None, "https://helm.linkerd.io/stable/")
    )
    assert (instance.version.label, instance.floating) == ("stable-2.14.10", False)
    assert instance.explanation == (
        "chart linkerd-control-plane pin (unpinned) admits 26 releases; from the stable channel "
        "(https://helm.linkerd.io/stable) helm-controller installs the newest, stable-2.14.10 "
        "(the channel publishes no newer release)"
    )


def test_a_range_on_a_channel_that_still_publishes_is_the_newest_known(tmp_path: Path) -> None:
    files = release("linkerd-enterprise-control-plane", "2.x", "https://helm.buoyant.cloud")
    instance = found(tmp_path, files)
    assert (instance.version.label, instance.floating) == ("enterprise-2.19.8", True)
    assert instance.explanation.endswith(
        "helm-controller installs the newest, enterprise-2.19.8: the newest Waypath knows as of "
        "2026-06; the channel still publishes, so state the running release with --assume if "
        "it is newer"
    )
    # --assume overrides a floating answer (within what the pin admits)
    assumed = found(tmp_path / "a", files, linkerd="enterprise-2.19.4")
    assert assumed.version.label == "enterprise-2.19.4"
    with pytest.raises(DetectionError, match="state a release the pin admits"):
        found(tmp_path / "b", files, linkerd="stable-2.14.10")


def test_edge_channel_installs_are_detected_and_refused(tmp_path: Path) -> None:
    files = release("linkerd-control-plane", "2024.8.2", "https://helm.linkerd.io/edge")
    instance = found(tmp_path, files, linkerd="enterprise-2.16.5")  # --assume cannot override
    assert (instance.version, instance.refused is not None) == (None, True)
    assert instance.explanation == (
        "chart linkerd-control-plane pin 2024.8.2: the chart comes from the Linkerd edge channel "
        "(https://helm.linkerd.io/edge); Waypath has no recipes for edge releases yet"
    )
    with pytest.raises(DetectionError) as refused:
        make_plan(Workspace(tmp_path), load_library(), PlanRequest(target="linkerd@stable-2.14"))
    assert refused.value.render() == (
        "error: Waypath cannot upgrade 1 linkerd instance(s)\n"
        "  - linkerd/release.yaml:1: " + instance.explanation + "\n"
        "hint: move those installations to a channel Waypath has recipes for, or leave them "
        "out of the plan with waves (`--wave`)"
    )


def test_an_unknown_source_still_needs_assume(tmp_path: Path) -> None:
    instance = found(
        tmp_path, release("linkerd-control-plane", "1.x", "https://mirror.example.com")
    )
    assert instance.version is None
    assert instance.explanation.startswith(
        "chart linkerd-control-plane pin 1.x admits 26 releases:"
    )
